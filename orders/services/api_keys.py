"""Issuing and revoking API keys. The secret is shown once; only its hash is stored."""

import secrets

from django.db import transaction
from django.utils import timezone

from oms_project.api import KEY_PREFIX, hash_key
from oms_project.errors import ValidationFailed
from orders.models import ApiKey, SalesChannel

RESOURCES = (
    "orders",
    "customers",
    "catalog",
    "inventory",
    "warehouses",
    "checkouts",
    "returns",
    "shipments",
    "purchasing",
    "webhooks",
    "accounting",
)
KNOWN_SCOPES = frozenset(
    f"{resource}:{access}" for resource in RESOURCES for access in ("read", "write")
)


def api_key_create(
    *,
    name: str,
    channel: SalesChannel | None = None,
    scopes: list[str] | None = None,
    created_by=None,
) -> tuple[ApiKey, str]:
    """Issue a key; return it with the raw secret, which is never stored.

    Raises `ValidationFailed` for an empty name or an unknown scope.
    """
    scopes = sorted(set(scopes or []))
    unknown = [scope for scope in scopes if scope not in KNOWN_SCOPES]
    if unknown:
        raise ValidationFailed(
            f"Unknown scopes: {', '.join(unknown)}. Known: {', '.join(sorted(KNOWN_SCOPES))}.",
            errors={"scopes": [f"Unknown scope '{scope}'." for scope in unknown]},
        )
    if not name.strip():
        raise ValidationFailed("A key needs a name.", errors={"name": ["This field is required."]})
    if channel is None and not scopes:
        raise ValidationFailed(
            "An integration key (no channel) needs at least one scope.",
            errors={"scopes": ["Give a channel or at least one scope."]},
        )
    prefix = secrets.token_hex(4)
    raw_key = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    with transaction.atomic():
        api_key = ApiKey.objects.create(
            name=name.strip()[:100],
            prefix=prefix,
            hashed_key=hash_key(raw_key),
            channel=channel,
            scopes=scopes,
            created_by=created_by,
        )
    return api_key, raw_key


def api_key_revoke(*, api_key: ApiKey) -> ApiKey:
    """Revoke a key at once; requests made with it get 401 from now on."""
    ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(
        is_active=False, revoked_at=timezone.now()
    )
    api_key.refresh_from_db()
    return api_key

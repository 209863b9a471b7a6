"""Every write to orders, channels and API keys."""

from orders.services.api_keys import KNOWN_SCOPES, api_key_create, api_key_revoke

__all__ = ["KNOWN_SCOPES", "api_key_create", "api_key_revoke"]

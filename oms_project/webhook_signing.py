"""Signing webhook bodies, and verifying them as a receiver does.

The header is `X-OMS-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`,
keyed with the subscription's secret. A receiver recomputes the HMAC over the raw bytes it
received, compares in constant time, and refuses timestamps too far from its clock (replays).
"""

import hashlib
import hmac
import time

SIGNATURE_HEADER = "X-OMS-Signature"
EVENT_ID_HEADER = "X-OMS-Event-Id"
DEFAULT_TOLERANCE_SECONDS = 300


class SignatureError(ValueError):
    """The signature header is missing, malformed, stale or does not match the body."""


def signature_compute(*, secret: str, timestamp: int, body: bytes) -> str:
    """Return the hex HMAC-SHA256 of `"<timestamp>.<body>"` keyed with `secret`."""
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(*, secret: str, body: bytes, timestamp: int | None = None) -> str:
    """Build the `X-OMS-Signature` value for a body sent now (or at `timestamp`)."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    return f"t={timestamp},v1={signature_compute(secret=secret, timestamp=timestamp, body=body)}"


def signature_verify(
    *,
    secret: str,
    header: str,
    body: bytes,
    tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> int:
    """Check a received `X-OMS-Signature` against the raw body; return its timestamp.

    Raises `SignatureError` when the header is malformed, older or newer than
    `tolerance_seconds`, or no `v1` signature matches.
    """
    parts: dict[str, list[str]] = {}
    for item in (header or "").split(","):
        name, separator, value = item.strip().partition("=")
        if separator:
            parts.setdefault(name, []).append(value)
    try:
        timestamp = int(parts["t"][0])
    except (KeyError, ValueError):
        raise SignatureError("The signature header has no valid timestamp.")
    if not parts.get("v1"):
        raise SignatureError("The signature header has no v1 signature.")
    now = time.time() if now is None else now
    if abs(now - timestamp) > tolerance_seconds:
        raise SignatureError("The signature timestamp is outside the tolerance.")
    expected = signature_compute(secret=secret, timestamp=timestamp, body=body)
    if not any(hmac.compare_digest(expected, candidate) for candidate in parts["v1"]):
        raise SignatureError("The signature does not match the body.")
    return timestamp

"""The payment step of a subscription run, pluggable through a setting.

`settings.OMS_SUBSCRIPTION_PAYMENT_GATEWAY` names a class (dotted path) with two methods:

- `charge(*, subscription, amount, currency, idempotency_key) -> PaymentOutcome`: take the
  money for one run with the subscription's stored `payment_reference`; never raises for a
  decline (it returns `is_successful=False` with a message). `idempotency_key` is stable per
  run and attempt, so a processor can deduplicate a repeated call.
- `void(*, subscription, reference, amount, currency) -> None`: give back a charge whose
  order could not be placed (stock short on a channel that rejects short orders).

The default, `RecordedPaymentGateway`, is for channels that take the money themselves: it
records the subscription's payment reference as captured and voids nothing.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.utils.module_loading import import_string


@dataclass(frozen=True)
class PaymentOutcome:
    is_successful: bool
    reference: str = ""
    message: str = ""


class RecordedPaymentGateway:
    """Record the stored payment reference as a captured payment (no processor is called)."""

    def charge(
        self, *, subscription, amount: Decimal, currency: str, idempotency_key: str
    ) -> PaymentOutcome:
        return PaymentOutcome(is_successful=True, reference=subscription.payment_reference)

    def void(self, *, subscription, reference: str, amount: Decimal, currency: str) -> None:
        return None


def payment_gateway():
    """An instance of the configured payment gateway class."""
    return import_string(settings.OMS_SUBSCRIPTION_PAYMENT_GATEWAY)()

"""Customer e-mails about a subscription: reminder, failed run, failed payment."""

from oms_project.notifications import email_queue
from orders.subscription_models import Subscription


def subscription_email(*, subscription: Subscription, template: str, extra: dict | None = None):
    """Queue `templates/emails/<template>.*` to the subscriber's current e-mail address (sent
    after commit); None on a channel that does not e-mail its customers.

    The address is the customer profile's, not `Subscription.email` (the address given at
    sign-up, which goes stale when the customer changes theirs)."""
    channel = subscription.channel
    if not channel.customer_emails:
        return None
    customer = subscription.customer
    context = {
        "subscription": subscription,
        "lines": list(subscription.lines.order_by("pk")),
        "customer": customer,
        "channel": channel,
        "brand_name": channel.name,
        "brand_color": channel.brand_color,
        "support_email": channel.support_email,
        **(extra or {}),
    }
    return email_queue(
        to=customer.email,
        template=template,
        context=context,
        reference=f"subscription:{subscription.pk}",
    )

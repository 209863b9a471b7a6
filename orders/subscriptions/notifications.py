"""Customer e-mails about a subscription: reminder, failed run, failed payment."""

from oms_project.notifications import email_queue
from orders.subscription_models import Subscription


def subscription_email(*, subscription: Subscription, template: str, extra: dict | None = None):
    """Queue `templates/emails/<template>.*` to the subscriber (sent after commit); None on a
    channel that does not e-mail its customers."""
    channel = subscription.channel
    if not channel.customer_emails:
        return None
    context = {
        "subscription": subscription,
        "lines": list(subscription.lines.order_by("pk")),
        "customer": subscription.customer,
        "channel": channel,
        "brand_name": channel.name,
        "brand_color": channel.brand_color,
        "support_email": channel.support_email,
        **(extra or {}),
    }
    return email_queue(
        to=subscription.email,
        template=template,
        context=context,
        reference=f"subscription:{subscription.pk}",
    )

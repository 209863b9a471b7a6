from django.apps import AppConfig


class OrdersConfig(AppConfig):
    default_auto_field = 'django.db.models.BigAutoField'
    name = 'orders'

    def ready(self) -> None:
        from oms_project.notifications import email_register_send_check
        from orders.notifications import order_emails_withheld
        from orders.services.routing_config import connect_signals

        connect_signals()
        email_register_send_check(order_emails_withheld)

from django.apps import AppConfig


class OrdersConfig(AppConfig):
    default_auto_field = 'django.db.models.BigAutoField'
    name = 'orders'

    def ready(self) -> None:
        from inventory.arrivals import free_stock_listener_register
        from oms_project.notifications import email_register_send_check
        from orders.notifications import order_emails_withheld
        from orders.services.routing_config import connect_signals
        from orders.tasks import free_stock_to_backorders

        connect_signals()
        email_register_send_check(order_emails_withheld)
        free_stock_listener_register(free_stock_to_backorders)

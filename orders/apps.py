from django.apps import AppConfig


class OrdersConfig(AppConfig):
    default_auto_field = 'django.db.models.BigAutoField'
    name = 'orders'

    def ready(self) -> None:
        from orders.services.routing_config import connect_signals

        connect_signals()

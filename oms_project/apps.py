from django.apps import AppConfig


class OmsProjectConfig(AppConfig):
    name = "oms_project"
    verbose_name = "Notifications and events"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from oms_project.outbox import outbox_register_consumer
        from oms_project.pg_arrays import register_on_connection
        from oms_project.webhooks import webhook_fan_out

        outbox_register_consumer(webhook_fan_out)
        connection_created.connect(register_on_connection, dispatch_uid="pg-list-text-dumper")

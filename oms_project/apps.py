from django.apps import AppConfig


class OmsProjectConfig(AppConfig):
    name = "oms_project"
    verbose_name = "Notifications and events"

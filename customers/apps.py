from django.apps import AppConfig


class CustomersConfig(AppConfig):
    default_auto_field = 'django.db.models.BigAutoField'
    name = 'customers'

    def ready(self) -> None:
        from customers.privacy import erased_emails_withheld
        from oms_project.notifications import email_register_send_check

        email_register_send_check(erased_emails_withheld)

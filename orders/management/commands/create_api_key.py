"""Issue an API key and print it once: `create_api_key --name N [--channel CODE] [--scopes a,b]`."""

from django.core.management.base import BaseCommand, CommandError

from oms_project.errors import OmsError
from orders.models import SalesChannel
from orders.services import api_key_create


class Command(BaseCommand):
    help = "Create an API key (channel key or integration key with scopes) and print it once."

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True, help="What the key is for.")
        parser.add_argument("--channel", help="Sales channel code for a channel key.")
        parser.add_argument("--scopes", default="", help="Comma-separated, e.g. orders:read")

    def handle(self, *args, name, channel, scopes, **options):
        sales_channel = None
        if channel:
            sales_channel = SalesChannel.objects.filter(code=channel).first()
            if sales_channel is None:
                known = ", ".join(SalesChannel.objects.values_list("code", flat=True)) or "none"
                raise CommandError(f"Unknown channel '{channel}'. Known channels: {known}.")
        scope_list = [scope.strip() for scope in scopes.split(",") if scope.strip()]
        try:
            api_key, raw_key = api_key_create(
                name=name, channel=sales_channel, scopes=scope_list
            )
        except OmsError as error:
            raise CommandError(error.detail)
        self.stderr.write(f"Created API key '{api_key.name}' (prefix {api_key.prefix}). "
                          "Store it now; it is not shown again.")
        self.stdout.write(raw_key)

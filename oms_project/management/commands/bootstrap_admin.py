"""Create (or reset) the local admin login and print it: used by `make run`."""

import os

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Create the admin superuser for a local installation and print its login."

    def add_arguments(self, parser):
        parser.add_argument("--username", default=os.environ.get("OMS_ADMIN_USER", "admin"))
        parser.add_argument("--password", default=os.environ.get("OMS_ADMIN_PASSWORD", "admin"))

    def handle(self, *args, username, password, **options):
        if not settings.DEBUG and password == "admin":
            raise CommandError(
                "Refusing to create an 'admin/admin' login outside DEBUG; pass --password."
            )
        user, created = get_user_model().objects.get_or_create(
            username=username, defaults={"email": f"{username}@oms.localhost"}
        )
        user.is_staff = user.is_superuser = user.is_active = True
        user.set_password(password)
        user.save()
        verb = "Created" if created else "Reset"
        self.stdout.write(f"{verb} admin login: {username} / {password}")

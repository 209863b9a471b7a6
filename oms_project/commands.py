"""Shared pieces of the project's management commands."""

from argparse import RawDescriptionHelpFormatter

from django.core.management.base import BaseCommand


class LongHelpCommand(BaseCommand):
    """A command whose `help` is several paragraphs, printed by `--help` as written."""

    def create_parser(self, prog_name, subcommand, **kwargs):
        kwargs["formatter_class"] = RawDescriptionHelpFormatter
        return super().create_parser(prog_name, subcommand, **kwargs)

"""Settings come from the environment: embedded defaults, production checks, `.env.example`.

Each case starts a fresh Python process so the environment it sets is the only one read.
"""

import ast
import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parent.parent
SETTINGS_FILE = BASE_DIR / "oms_project" / "settings.py"
ENV_EXAMPLE = BASE_DIR / ".env.example"
ENV_READERS = {"env_bool", "env_list", "env_int", "getenv"}

PRINT_SETTINGS = """
import json, django
django.setup()
from django.conf import settings
from oms_project.celery import app
database = settings.DATABASES["default"]
print(json.dumps({
    "DEBUG": settings.DEBUG,
    "ENGINE": database["ENGINE"],
    "NAME": str(database["NAME"]),
    "HOST": database.get("HOST", ""),
    "CONN_MAX_AGE": database["CONN_MAX_AGE"],
    "CONN_HEALTH_CHECKS": database.get("CONN_HEALTH_CHECKS"),
    "CELERY_TASK_ALWAYS_EAGER": settings.CELERY_TASK_ALWAYS_EAGER,
    "celery_eager": app.conf.task_always_eager,
    "celery_broker": app.conf.broker_url,
}))
"""


def variables_read_by_settings() -> set[str]:
    return variables_read(SETTINGS_FILE.read_text())


def variables_read(source: str) -> set[str]:
    """Every environment variable name the Python `source` reads, found in its syntax tree."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and node.args:
            function = node.func
            called = getattr(function, "attr", None) or getattr(function, "id", None)
            is_environ_get = (
                called == "get"
                and isinstance(function, ast.Attribute)
                and getattr(function.value, "attr", None) == "environ"
            )
            if (is_environ_get or called in ENV_READERS) and isinstance(
                node.args[0], ast.Constant
            ):
                names.add(node.args[0].value)
        if (
            isinstance(node, ast.Subscript)
            and getattr(node.value, "attr", None) == "environ"
            and isinstance(node.slice, ast.Constant)
        ):
            names.add(node.slice.value)
    return names


def variables_listed_in_env_example() -> list[str]:
    return [
        line.split("=", 1)[0].strip()
        for line in ENV_EXAMPLE.read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#") and "=" in line
    ]


def clean_environment(**variables: str) -> dict[str, str]:
    """The current environment without any OMS setting, plus `variables`."""
    known = variables_read_by_settings() | set(variables_listed_in_env_example())
    environment = {
        name: value for name, value in os.environ.items()
        if name not in known and name != "DJANGO_SETTINGS_MODULE"
    }
    environment["DJANGO_SETTINGS_MODULE"] = "oms_project.settings"
    environment.update(variables)
    return environment


def run(arguments: list[str], **variables: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *arguments], cwd=BASE_DIR, env=clean_environment(**variables),
        capture_output=True, text=True, timeout=120,
    )


def settings_with(**variables: str) -> dict:
    result = run(["-c", PRINT_SETTINGS], **variables)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": secrets.token_urlsafe(64),
    "ALLOWED_HOSTS": "oms.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://oms.example.com",
    "SECURE_SSL_REDIRECT": "1",
    "SESSION_COOKIE_SECURE": "1",
    "CSRF_COOKIE_SECURE": "1",
    "SECURE_HSTS_SECONDS": "31536000",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": "1",
    "SECURE_HSTS_PRELOAD": "1",
    "SECURE_PROXY_SSL_HEADER": "1",
}


def deploy_check(**variables: str) -> subprocess.CompletedProcess:
    return run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], **variables)


def test_deploy_check_reports_no_security_or_settings_issue():
    """Everything `check --deploy` says, apart from schema warnings (tested on their own)."""
    result = deploy_check(**PRODUCTION)
    issues = [
        line.strip() for line in result.stderr.splitlines()
        if line.strip().startswith("?:") and "(drf_spectacular." not in line
    ]
    assert issues == []
    assert "Traceback" not in result.stderr


def test_deploy_check_passes_with_production_variables():
    result = deploy_check(**PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_deploy_check_fails_without_https_settings():
    insecure = {**PRODUCTION, "SECURE_SSL_REDIRECT": "0", "SECURE_HSTS_SECONDS": "0"}
    result = deploy_check(**insecure)
    assert result.returncode != 0
    assert "security.W004" in result.stderr
    assert "security.W008" in result.stderr


def test_embedded_defaults_without_any_environment():
    values = settings_with()
    assert values["DEBUG"] is False
    assert values["ENGINE"] == "django.db.backends.sqlite3"
    assert values["NAME"] == str(BASE_DIR / "db.sqlite3")
    assert values["CELERY_TASK_ALWAYS_EAGER"] is True
    assert values["celery_eager"] is True


@pytest.mark.parametrize(("value", "expected"), [("1", True), ("true", True), ("0", False),
                                                  ("", False), ("no", False)])
def test_debug_is_on_only_when_asked(value, expected):
    assert settings_with(DEBUG=value)["DEBUG"] is expected


def test_database_url_switches_to_postgresql():
    values = settings_with(DATABASE_URL="postgres://oms:secret@db.internal:5432/oms")
    assert values["ENGINE"] == "django.db.backends.postgresql"
    assert (values["NAME"], values["HOST"]) == ("oms", "db.internal")
    assert values["CONN_MAX_AGE"] == 60
    assert values["CONN_HEALTH_CHECKS"] is True


def test_broker_url_turns_off_eager_tasks():
    values = settings_with(CELERY_BROKER_URL="redis://127.0.0.1:6379/0")
    assert values["CELERY_TASK_ALWAYS_EAGER"] is False
    assert values["celery_eager"] is False
    assert values["celery_broker"] == "redis://127.0.0.1:6379/0"


def test_env_example_lists_every_variable_settings_reads():
    read = variables_read_by_settings()
    assert {"DEBUG", "SECRET_KEY", "DATABASE_URL", "CELERY_BROKER_URL"} <= read
    missing = sorted(read - set(variables_listed_in_env_example()))
    assert missing == [], f".env.example does not list: {', '.join(missing)}"


def test_env_example_lists_each_variable_once_with_a_comment():
    lines = ENV_EXAMPLE.read_text().splitlines()
    listed = variables_listed_in_env_example()
    assert len(listed) == len(set(listed)), "a variable is listed twice"
    for index, line in enumerate(lines):
        if line.strip() and not line.startswith("#") and "=" in line:
            assert lines[index - 1].startswith("#"), f"no comment above {line.split('=')[0]}"


def test_settings_parser_finds_every_way_of_reading_the_environment():
    source = (
        'import os\nA = os.environ.get("ONE")\nB = env_bool("TWO", False)\n'
        'C = os.environ["THREE"]\nD = env_list("FOUR")\nE = env_int("FIVE", 1)\n'
        'F = os.getenv("SIX")\nG = other.get("NOT_ENV")\nH = {"k": 1}["NOT_ENV_EITHER"]\n'
    )
    assert variables_read(source) == {"ONE", "TWO", "THREE", "FOUR", "FIVE", "SIX"}

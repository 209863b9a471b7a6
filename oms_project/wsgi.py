"""The WSGI application (`gunicorn oms_project.wsgi`).

Each worker tunes its garbage collector once the application is loaded
(`oms_project.runtime.gc_tune`).
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oms_project.settings")

application = get_wsgi_application()

from django.urls import get_resolver  # noqa: E402

from oms_project.runtime import gc_tune  # noqa: E402  (needs the settings loaded)

# Load the URLs, views and serializers before freezing what is loaded.
_url_patterns = get_resolver().url_patterns
gc_tune()

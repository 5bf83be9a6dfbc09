"""Settings for the Sluice read/write-splitting example.

There is exactly ONE database entry. Django knows nothing about replicas:
Sluice sends autocommit read-only statements to a streaming replica and
everything else to the primary, and guarantees read-your-writes.
"""
import os

SECRET_KEY = "django-insecure-sluice-example-not-a-secret"
DEBUG = False
ALLOWED_HOSTS = ["*"]

INSTALLED_APPS = ["notes"]
MIDDLEWARE = []
ROOT_URLCONF = "rwsite.urls"

_DB_NAME = os.environ.get("SLUICE_DB", "app")

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": _DB_NAME,
        "USER": os.environ.get("SLUICE_USER", "app"),
        "PASSWORD": os.environ.get("SLUICE_PASSWORD", ""),
        "HOST": os.environ.get("SLUICE_HOST", "127.0.0.1"),
        "PORT": os.environ.get("SLUICE_PORT", "6432"),
        # Open a fresh client connection per request/test; Sluice pools.
        "CONN_MAX_AGE": 0,
        # Named cursors (DECLARE ... WITH HOLD) break behind transaction
        # pooling, because the next statement may use another server.
        "DISABLE_SERVER_SIDE_CURSORS": True,
        # The pooler only knows this database name, so the test runner must
        # reuse it (run with --keepdb) instead of creating "test_<name>".
        "TEST": {"NAME": _DB_NAME},
    }
}

# Never drop the database above, even if --keepdb is forgotten.
TEST_RUNNER = "rwsite.testrunner.KeepDatabaseRunner"

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"
USE_I18N = False

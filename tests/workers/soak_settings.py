"""Settings of the soak test's workers: the example project's, with emails kept as files.

A worker process has no test email backend, and the example project's default (SMTP)
fails without a mail server; every email a worker sends lands in DEFACTO_TEST_EMAIL_DIR.
"""

import os

from example_project.settings import *  # noqa: F403

EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
EMAIL_FILE_PATH = os.environ["DEFACTO_TEST_EMAIL_DIR"]

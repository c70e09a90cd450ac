"""Settings of the soak test's workers and web process: the example project's, with
emails kept as files and a Defacto client that gives up sooner.

A worker process has no test email backend, and the example project's default (SMTP)
fails without a mail server; every email a worker sends lands in DEFACTO_TEST_EMAIL_DIR.
The client's read timeout (DEFACTO_TEST_READ_TIMEOUT seconds, 8 by default) stands for
Defacto's 30 s: a request whose process died is looked for that much sooner.
"""

import os

from example_project.mailers import email_settings
from example_project.settings import *  # noqa: F403
from example_project.settings import DEFACTO

globals().update(
    email_settings(
        "django.core.mail.backends.filebased.EmailBackend",
        file_path=os.environ["DEFACTO_TEST_EMAIL_DIR"],
    )
)

DEFACTO = {
    **DEFACTO,
    "TIMEOUT": (3.0, float(os.environ.get("DEFACTO_TEST_READ_TIMEOUT", "8"))),
}

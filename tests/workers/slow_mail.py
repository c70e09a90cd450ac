"""Settings of workers whose mail server is slow to let go: the email is accepted (written
to DEFACTO_TEST_EMAIL_DIR), then the connection hangs for a minute, long enough for the
test to kill the worker in the middle of the send, after the email left.

Seller notifications are held `DEFACTO_TEST_NOTIFICATION_LEASE` seconds by a worker.
"""

import os
import time
from pathlib import Path

from django.core.mail.backends.filebased import EmailBackend as FileBackend

from example_project.mailers import email_settings
from example_project.settings import *  # noqa: F403
from example_project.settings import DEFACTO

_email_dir = os.environ["DEFACTO_TEST_EMAIL_DIR"]
globals().update(email_settings("tests.workers.slow_mail.AcceptedThenHangs", file_path=_email_dir))
DEFACTO = {
    **DEFACTO,
    "SELLER_NOTIFICATION_LEASE": int(os.environ.get("DEFACTO_TEST_NOTIFICATION_LEASE", "300")),
}
HANGING_MARKER = "hanging"


class AcceptedThenHangs(FileBackend):
    def send_messages(self, email_messages):
        sent = super().send_messages(email_messages)
        marker = Path(_email_dir) / HANGING_MARKER
        if not marker.exists():
            marker.touch()
            time.sleep(60)
        return sent

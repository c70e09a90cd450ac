"""`manage.py runserver` for the soak's web process, with Nagle's algorithm off.

Django's development server writes a response's headers and body in separate writes;
with Nagle's algorithm on, the body waits for the client's delayed ACK of the headers,
about 40 ms per response. Defacto's notifications are delivered one at a time, so the
receiver would take about 20 a second and they would reach it a minute after the requests
that caused them instead of racing them. Run from the repository root:

    python -m tests.workers.runserver --noreload 127.0.0.1:8000
"""

import sys

from django.core.management import execute_from_command_line
from django.core.servers import basehttp

if __name__ == "__main__":
    basehttp.WSGIRequestHandler.disable_nagle_algorithm = True
    execute_from_command_line(["manage.py", "runserver", *sys.argv[1:]])

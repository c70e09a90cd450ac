"""`python -m django_defacto.sandbox`: run the offline Defacto as an HTTP server."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Sequence

CONTROL_HELP = """\
control endpoints (no auth needed):
  POST   /_sandbox/faults    {"kind": K, "rate": 0.3 | "next": N, "path": "/loans",
                              "method": "POST", "body_contains": "INV-1",
                              "seconds": S, "after": true|false}
                             K: http_500, http_401, http_404, timeout_504_before,
                             timeout_504_after (the request takes effect),
                             connection_reset, latency (with after: the request
                             takes effect, then its answer waits S seconds)
  GET    /_sandbox/faults    list faults with remaining and fired counts
  DELETE /_sandbox/faults    clear all faults
  GET    /_sandbox/webhooks  delivery counters and recent outcomes
  POST   /_sandbox/webhooks  {"duplicate_rate": 0.0-1.0, "reorder": true|false}
  POST   /_sandbox/clock     {"advance_seconds": S}  move sandbox time forward
  POST   /_sandbox/reset     forget every entity and fault
  GET    /_sandbox/state     counts and current sandbox time
"""


def build_parser() -> argparse.ArgumentParser:
    """Return the command-line parser."""
    parser = argparse.ArgumentParser(
        prog="python -m django_defacto.sandbox",
        description="Run an offline, stateful fake of Defacto's API over HTTP.",
        epilog=CONTROL_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default: %(default)s)"
    )
    parser.add_argument(
        "--port",
        type=int,
        default=8765,
        help="port to bind, 0 for any free one (default: %(default)s)",
    )
    parser.add_argument(
        "--state-file",
        metavar="PATH",
        help="JSON file to load the state from at start and save it to as it changes",
    )
    parser.add_argument(
        "--decision-delay",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="sandbox seconds before a loan decision (default: %(default)s)",
    )
    parser.add_argument(
        "--page-size",
        type=int,
        default=100,
        metavar="N",
        help="default page size (default: %(default)s)",
    )
    parser.add_argument(
        "--api-key",
        metavar="KEY",
        help="the only bearer token accepted (default: any non-empty token)",
    )
    parser.add_argument(
        "--webhook-chaos",
        action="store_true",
        help="deliver some webhooks twice and out of order",
    )
    parser.add_argument("--seed", type=int, help="seed for generated data, faults and chaos")
    parser.add_argument("--verbose", action="store_true", help="log every request")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Serve until Ctrl-C or SIGTERM, save the state, and return the exit status."""
    options = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if options.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )

    from .sandbox import Sandbox
    from .webhook_delivery import CHAOS_DUPLICATE_RATE

    sandbox = Sandbox(
        decision_delay=options.decision_delay,
        page_size=options.page_size,
        api_key=options.api_key,
        state_file=options.state_file,
        seed=options.seed,
    )
    if options.webhook_chaos:
        sandbox.webhooks.configure(duplicate_rate=CHAOS_DUPLICATE_RATE, reorder=True)

    try:
        server = sandbox.serve(options.host, options.port, verbose=options.verbose)
    except OSError as exc:
        print(f"Cannot listen on {options.host}:{options.port}: {exc}", file=sys.stderr)
        sandbox.stop()
        return 1

    stop_requested = threading.Event()

    def request_stop(signum: int, frame: object) -> None:
        stop_requested.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)

    print(f"Defacto sandbox listening on {server.url} (Ctrl-C or SIGTERM to stop)", flush=True)
    while not stop_requested.wait(0.5):
        pass
    sandbox.stop()
    print("Defacto sandbox stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`make bench`: every figure beside its baseline, measured in one run, written to
benchmarks/report.md and benchmarks/report.json (both ignored by git) and printed.

The database is PostgreSQL when DATABASE_URL names one or a local server answers on
127.0.0.1:5432 (a database `django_defacto_bench` is created and dropped), else SQLite;
the report says which. Benchmarks are run here only, never by the test suite.
"""

from __future__ import annotations

import contextlib
import io
import sys
import time

from . import harness

LOANS = 10_000


def main() -> int:
    started = time.monotonic()
    env = harness.prepare()
    print(f"Benchmarks on {env.vendor} ({env.database_url})", flush=True)
    from . import cash_in, client, memory, polling, report, sync, webhooks, world

    figures: list[harness.Figure] = []
    try:
        shared = world.build(LOANS)
        print(
            f"  sandbox with {LOANS:,} pending loans built in {shared.built_in:.1f} s", flush=True
        )
        for name, step in (
            ("sync", lambda: sync.run(shared)),
            ("memory", lambda: memory.run(shared)),
            ("polling", lambda: polling.run(shared)),
            ("cash in now", cash_in.run),
            ("webhook intake", lambda: webhooks.run(env)),
        ):
            began = time.monotonic()
            figures.extend(step())
            print(f"  {name}: {time.monotonic() - began:.1f} s", flush=True)
        shared.sandbox.close()
        captured = io.StringIO()
        with contextlib.redirect_stdout(captured):
            client.run()
        other = captured.getvalue().rstrip().splitlines()
    finally:
        harness.drop_database(env)
    text = report.write(env, figures, other)
    print()
    print(text)
    print(
        "Written to benchmarks/report.md and benchmarks/report.json"
        f" in {time.monotonic() - started:.0f} s."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`make bench`: every figure beside its baseline, measured in one run, written to
benchmarks/report.md and benchmarks/report.json (both ignored by git) and printed.

The database is PostgreSQL when DATABASE_URL names one or a local server answers on
127.0.0.1:5432 (a database `django_defacto_bench` is created and dropped;
DEFACTO_BENCH_DATABASE names another), else SQLite; the report says which. Benchmarks
are run here only, never by the test suite.

`--scale` (`make bench BENCH_ARGS=--scale`) runs the scale run instead (see
`benchmarks/scale.py`): PostgreSQL only, tens of minutes, written to
benchmarks/scale-report.md and scale-report.json; `--poll-sizes` and `--sync-sizes`
choose its sizes.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
import time

from . import harness

LOANS = 10_000


def _sizes(text: str) -> tuple[int, ...]:
    if text.strip().lower() == "none":
        return ()
    try:
        sizes = tuple(int(part.replace("_", "")) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of numbers: {text!r}") from None
    if not sizes or min(sizes) < 100:
        raise argparse.ArgumentTypeError(
            "give one or more sizes of at least 100, e.g. 10000,100000, or none"
        )
    return sizes


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    from .scale import POLL_SIZES, SYNC_SIZES

    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--scale",
        action="store_true",
        help="the scale run instead: a poll sweep and a sync at sizes up to 1,000,000 "
        "loans, on PostgreSQL only (tens of minutes)",
    )
    parser.add_argument(
        "--poll-sizes",
        type=_sizes,
        default=POLL_SIZES,
        metavar="N,N",
        help="pending loans per poll sweep, with --scale (default: "
        + ",".join(map(str, POLL_SIZES))
        + ")",
    )
    parser.add_argument(
        "--sync-sizes",
        type=_sizes,
        default=SYNC_SIZES,
        metavar="N,N",
        help="loans per sync, with --scale (default: " + ",".join(map(str, SYNC_SIZES)) + ")",
    )
    return parser.parse_args(argv)


def scale(options: argparse.Namespace) -> int:
    started = time.monotonic()
    try:
        env = harness.prepare(postgres_only=True, database=f"{harness.BENCH_DATABASE}_scale")
    except harness.PostgresRequired as refusal:
        print(f"The scale run was not started: {refusal}", file=sys.stderr)
        return 2
    print(f"Scale run on {env.vendor} ({env.database_url})", flush=True)
    from . import scale as scale_run

    try:
        text = scale_run.run(env, options.poll_sizes, options.sync_sizes)
    finally:
        harness.drop_database(env)
    print()
    print(text)
    print(
        "Written to benchmarks/scale-report.md and benchmarks/scale-report.json"
        f" in {time.monotonic() - started:.0f} s."
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    options = arguments(argv)
    if options.scale:
        return scale(options)
    started = time.monotonic()
    env = harness.prepare()
    print(f"Benchmarks on {env.vendor} ({env.database_url})", flush=True)
    from . import cash_in, client, dashboard, memory, polling, report, sync, webhooks, world

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
            ("cash in now", lambda: cash_in.run(shared)),
            ("portfolio dashboard", dashboard.run),
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

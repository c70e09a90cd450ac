"""The scale run, `python -m benchmarks --scale` (`make bench BENCH_ARGS=--scale`), never
run by CI: a poll sweep (`poll_pending_decisions`) over up to 100,000 pending loans and a
sync (`sync_loans`) of up to 1,000,000 loans, on PostgreSQL only, each size in a
subprocess of its own so that its peak RSS is its own. Reported per size: time per
1,000 loans, SQL statements per page and peak RSS, to show whether the time grows
linearly and the memory stays flat. Written to benchmarks/scale-report.md and
scale-report.json (ignored by git).

Defacto is `scale_defacto.ScaleDefacto`, in the measuring process: list pages made on
the fly from two payloads of the sandbox (see that module). A sync is measured into an
empty mirror; a poll sweep over a mirror holding exactly the pending loans it sweeps,
all due at one shared moment (see `_seed_pending`), all decided at Defacto. The
subprocess is `python -m benchmarks.scale KIND SIZE TEMPLATE` and prints its figures as
one JSON line; its progress goes to stderr.
"""

from __future__ import annotations

import itertools
import json
import platform
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from .harness import Environment, QueryCounter, stopwatch
from .memory import _vm

HERE = Path(__file__).resolve().parent
POLL_SIZES = (10_000, 100_000)
SYNC_SIZES = (10_000, 100_000, 1_000_000)
# Verdicts: time per 1,000 loans within this factor of the smallest size's is linear;
# a peak RSS within this many MB of the smallest size's is flat.
LINEAR_WITHIN = 1.25
FLAT_WITHIN_MB = 20.0
PROGRESS_STEPS = 10


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# The subprocess ---------------------------------------------------------------------------


class _Progress:
    """Prints a line at each tenth of the expected loans, with the pace so far."""

    def __init__(self, label: str, total: int) -> None:
        self.label, self.total = label, total
        self.started = time.perf_counter()
        self.next_step = 1
        self.marks: list[tuple[int, float]] = []

    def __call__(self, done: int) -> None:
        while done * PROGRESS_STEPS >= self.next_step * self.total:
            elapsed = time.perf_counter() - self.started
            self.marks.append((done, elapsed))
            say(
                f"    {self.label}: {done:,} loans in {elapsed:.0f} s "
                f"({elapsed * 1000 / done:.2f} s per 1,000)"
            )
            self.next_step += 1


def _paces(marks: list[tuple[int, float]]) -> dict[str, float]:
    """Seconds per 1,000 loans over the first and the last tenth of the run."""
    if len(marks) < 2:
        return {}
    (n1, t1), (n_before, t_before), (n_last, t_last) = marks[0], marks[-2], marks[-1]
    return {
        "first_tenth": t1 * 1000 / n1,
        "last_tenth": (t_last - t_before) * 1000 / (n_last - n_before),
    }


def _summary(per_page: list[int]) -> dict[str, Any]:
    return {
        "min": min(per_page),
        "max": max(per_page),
        "mean": sum(per_page) / len(per_page),
        "pages": len(per_page),
    }


def _client(template: dict[str, Any], loans: int, on_request=None):
    from django_defacto.client import DefactoClient

    from .scale_defacto import URL, ScaleDefacto

    fake = ScaleDefacto(template["pending"], template["decided"], loans, on_request)
    return DefactoClient("bench", base_url=URL, session=fake.session()), fake


def _child_sync(template: dict[str, Any], size: int) -> dict[str, Any]:
    from django_defacto.conf import use_client
    from django_defacto.models import Loan
    from django_defacto.services.sync import sync_loans

    client, fake = _client(template, size)
    client.loans.list(page_size=1).pages().__next__()  # imports and the fake, first
    Loan.objects.exists()  # the database connection
    before = _vm("VmHWM")
    fake.requests, fake.seconds = 0, 0.0
    counter = QueryCounter()
    per_page: list[int] = []
    progress = _Progress(f"sync {size:,}", size)
    done = [0]

    def on_page(count: int) -> None:
        per_page.append(counter.count - sum(per_page))
        done[0] += count
        progress(done[0])

    with use_client(client), counter.active(), stopwatch() as took:
        report = sync_loans(on_page=on_page)
    assert report.created == size and report.ok, report.summary()
    return {
        "kind": "sync",
        "size": size,
        "seconds": took[0],
        "requests": fake.requests,
        "fake_seconds": fake.seconds,
        "statements": counter.count,
        "per_page": _summary(per_page),
        "before_mb": before,
        "peak_mb": _vm("VmHWM"),
        "paces": _paces(progress.marks),
    }


def _child_poll(template: dict[str, Any], size: int) -> dict[str, Any]:
    from django.utils import timezone

    from django_defacto.conf import defacto_settings, use_client
    from django_defacto.models import Loan
    from django_defacto.services.loans.polling import poll_pending_decisions

    from .scale_defacto import loan_id

    counter = QueryCounter()
    at_request: list[int] = []
    page_size = defacto_settings().poll_page_size
    client, fake = _client(template, size)
    client.loans.list(id=[loan_id(0)]).first()  # imports and the fake, first
    assert Loan.objects.filter(next_poll_at__isnull=False).count() == size
    before = _vm("VmHWM")
    fake.requests, fake.seconds = 0, 0.0
    progress = _Progress(f"polling {size:,}", size)

    def on_request(path: str) -> None:
        # A request asks about the next page: the pages before it are done.
        at_request.append(counter.count)
        progress(min((len(at_request) - 1) * page_size, size))

    fake.on_request = on_request
    later = timezone.now() + timedelta(days=1)
    with use_client(client), counter.active(), stopwatch() as took:
        report = poll_pending_decisions(now=later)
    progress(size)
    assert report.claimed == size == report.decided and not report.errors, report
    # A page's statements: from one list request to the next, i.e. applying a page and
    # claiming the next. Before the first request: the first claim; after the last one:
    # applying it and finding nothing more to claim.
    per_page = [after - before for before, after in itertools.pairwise(at_request)]
    return {
        "kind": "polling",
        "size": size,
        "seconds": took[0],
        "requests": fake.requests,
        "fake_seconds": fake.seconds,
        "statements": counter.count,
        "first_claim": at_request[0],
        "last_page": counter.count - at_request[-1],
        "per_page": _summary(per_page or [counter.count - at_request[-1]]),
        "before_mb": before,
        "peak_mb": _vm("VmHWM"),
        "paces": _paces(progress.marks),
    }


def child(kind: str, size: int, template_path: str) -> None:
    from .harness import prepare_child

    prepare_child()
    template = json.loads(Path(template_path).read_text())
    measure = {"sync": _child_sync, "polling": _child_poll}[kind]
    print(json.dumps(measure(template, size)), flush=True)


# The parent -------------------------------------------------------------------------------


def _template(path: Path) -> dict[str, Any]:
    """Two payloads of one sandbox loan, awaiting its decision and decided, and its
    borrower mirrored here (as the other benchmarks do)."""
    from django_defacto.models.statuses import LOAN_AWAITING_DECISION

    from . import world

    shared = world.build(1)
    pending = shared.client.loans.list(page_size=1).first()
    assert pending is not None and pending["status"] in LOAN_AWAITING_DECISION, pending
    shared.control.advance_clock(6)
    decided = shared.client.loans.get(pending["id"])
    assert decided["status"] not in LOAN_AWAITING_DECISION, decided
    shared.sandbox.close()
    template = {"pending": pending, "decided": decided}
    path.write_text(json.dumps(template))
    return template


def _loan_tables() -> list[str]:
    from django_defacto.models import Loan

    related = [
        f.related_model._meta.db_table
        for f in Loan._meta.related_objects
        if f.related_model is not None
    ]
    return [*related, Loan._meta.db_table]


def _empty_mirror() -> None:
    from django.db import connection

    tables = ", ".join(connection.ops.quote_name(table) for table in _loan_tables())
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {tables}")


def _analyze() -> None:
    """What autovacuum would do soon after a bulk change: fresh planner statistics."""
    from django.db import connection

    with connection.cursor() as cursor:
        for table in _loan_tables():
            cursor.execute(f"ANALYZE {connection.ops.quote_name(table)}")


def _seed_pending(template: dict[str, Any], size: int) -> float:
    """A mirror of exactly `size` loans awaiting their decision, all due at one shared
    moment: the sweep's worst case, where its claim (`ORDER BY next_poll_at, id`) finds
    every due loan tied on `next_poll_at`. The `(next_poll_at, id)` index answers each
    page in that order; over `next_poll_at` alone PostgreSQL sorted every due loan for
    each page, and a sweep of 100,000 was quadratic (docs/benchmarks.md)."""
    from django.db import connection
    from django.utils import timezone

    from django_defacto.conf import use_client
    from django_defacto.models import Loan, LoanStatus
    from django_defacto.services.sync import sync_loans

    _empty_mirror()
    client, _ = _client(template, size)
    progress = _Progress(f"polling {size:,}, seeding the mirror", size)
    done = [0]

    def on_page(count: int) -> None:
        done[0] += count
        progress(done[0])

    with use_client(client), stopwatch() as took:
        report = sync_loans(on_page=on_page)
        assert report.created == size and report.ok, report.summary()
        table = connection.ops.quote_name(Loan._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET status = %s, decided_at = NULL, next_poll_at = %s",
                [str(LoanStatus.PENDING_VALIDATION), timezone.now()],
            )
        _analyze()
    return took[0]


def _measure(kind: str, size: int, template_path: Path) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.scale", kind, str(size), str(template_path)],
        stdout=subprocess.PIPE,
        text=True,
        check=True,
        cwd=HERE.parent,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _line(result: dict[str, Any]) -> str:
    page = result["per_page"]
    return (
        f"  {result['kind']} {result['size']:,}: {result['seconds']:.1f} s, "
        f"{result['seconds'] * 1000 / result['size']:.3f} s per 1,000 loans, "
        f"{page['min']}-{page['max']} statements per page, "
        f"peak RSS {result['peak_mb']:.0f} MB ({result['before_mb']:.0f} MB before)"
    )


def run(
    env: Environment,
    poll_sizes: tuple[int, ...] = POLL_SIZES,
    sync_sizes: tuple[int, ...] = SYNC_SIZES,
) -> str:
    from django.db import connection

    template_path = env.workdir / "scale-template.json"
    template = _template(template_path)
    results: list[dict[str, Any]] = []
    for size in sorted(poll_sizes):
        say(f"  polling {size:,}: seeding the mirror with {size:,} pending loans")
        seeded = _seed_pending(template, size)
        say(f"  polling {size:,}: mirror seeded in {seeded:.0f} s; sweeping in a subprocess")
        results.append({**_measure("polling", size, template_path), "seeded_seconds": seeded})
        say(_line(results[-1]))
    for size in sorted(sync_sizes):
        _empty_mirror()
        _analyze()
        say(f"  sync {size:,}: into an empty mirror, in a subprocess")
        results.append(_measure("sync", size, template_path))
        say(_line(results[-1]))
    _empty_mirror()
    server = connection.cursor().connection.info.server_version
    text = markdown(env, results, f"PostgreSQL {server // 10000}.{server % 10000}")
    (HERE / "scale-report.md").write_text(text)
    (HERE / "scale-report.json").write_text(
        json.dumps(
            {
                "database": env.vendor,
                "python": platform.python_version(),
                "started_at": env.started_at,
                "results": results,
            },
            indent=2,
        )
    )
    return text


def _verdicts(rows: list[dict[str, Any]]) -> list[str]:
    smallest, largest = rows[0], rows[-1]
    kind = smallest["kind"]
    pace = [r["seconds"] * 1000 / r["size"] for r in rows]
    linear = all(p <= LINEAR_WITHIN * pace[0] for p in pace)
    flat = all(r["peak_mb"] - smallest["peak_mb"] <= FLAT_WITHIN_MB for r in rows)
    constant = len({(r["per_page"]["min"], r["per_page"]["max"]) for r in rows}) == 1 and (
        smallest["per_page"]["min"] == smallest["per_page"]["max"]
    )
    return [
        f"- **{kind}, time:** {'linear' if linear else '**not linear**'}: "
        f"{pace[0]:.3f} s per 1,000 loans at {smallest['size']:,}, {pace[-1]:.3f} s at "
        f"{largest['size']:,} ({pace[-1] / pace[0]:.2f}x; linear means within "
        f"{LINEAR_WITHIN}x).",
        f"- **{kind}, memory:** {'flat' if flat else '**growing**'}: peak RSS "
        f"{smallest['peak_mb']:.0f} MB at {smallest['size']:,}, {largest['peak_mb']:.0f} MB "
        f"at {largest['size']:,} (flat means within {FLAT_WITHIN_MB:.0f} MB).",
        f"- **{kind}, SQL statements per page:** "
        f"{'constant' if constant else '**not constant**'} "
        f"({', '.join(_range(r) for r in rows)}).",
    ]


def _range(row: dict[str, Any]) -> str:
    page = row["per_page"]
    spread = str(page["min"]) if page["min"] == page["max"] else f"{page['min']}-{page['max']}"
    return f"{spread} at {row['size']:,}"


def markdown(env: Environment, results: list[dict[str, Any]], server: str) -> str:
    lines = [
        "# django-defacto scale run",
        "",
        f"{server}; Python {platform.python_version()}; {env.started_at}. Defacto: "
        "`benchmarks/scale_defacto.py`, list pages made on the fly in the measuring "
        'process (its own time is the "fake Defacto" column). Each size ran in a '
        "subprocess of its own; a sync into an empty mirror, a poll sweep over a mirror "
        "of exactly its pending loans, all due at one shared moment and all decided at "
        "Defacto.",
        "",
        "| run | loans | wall time | s per 1,000 loans | first / last tenth, s per 1,000 "
        "| requests | SQL statements per page | peak RSS | RSS before | fake Defacto |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        page = r["per_page"]
        paces = r.get("paces") or {}
        tenths = f"{paces['first_tenth']:.3f} / {paces['last_tenth']:.3f}" if paces else ""
        lines.append(
            f"| {'poll sweep' if r['kind'] == 'polling' else 'sync_loans'} | {r['size']:,} | "
            f"{r['seconds']:,.1f} s | {r['seconds'] * 1000 / r['size']:.3f} | {tenths} | "
            f"{r['requests']:,} | {page['mean']:.1f} ({_range(r).split(' at ')[0]}) | "
            f"{r['peak_mb']:.0f} MB | {r['before_mb']:.0f} MB | {r['fake_seconds']:.2f} s |"
        )
    lines += [
        "",
        "SQL statements per page: a sync's from one page to the next; a poll sweep's "
        "between two of its list requests (applying a page, claiming the next one). "
        'Peak RSS is the subprocess\'s (VmHWM), "before" once Django is set up.',
        "",
        "## Verdicts",
        "",
    ]
    for kind in ("polling", "sync"):
        rows = sorted((r for r in results if r["kind"] == kind), key=lambda r: r["size"])
        if rows:
            lines += _verdicts(rows)
    seeded = [r for r in results if "seeded_seconds" in r]
    if seeded:
        lines += [
            "",
            "Seeding each poll sweep's mirror (a sync from the fake, then every check made "
            "due), not measured: "
            + ", ".join(f"{r['seeded_seconds']:.0f} s for {r['size']:,}" for r in seeded)
            + ".",
        ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    child(sys.argv[1], int(sys.argv[2]), sys.argv[3])

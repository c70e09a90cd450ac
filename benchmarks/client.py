"""Throughput and memory of the client and the sandbox alone (no Django).

Figures are printed, not asserted; `benchmarks.__main__` copies them into the report.
"""

from __future__ import annotations

import logging
import statistics
import time
import tracemalloc
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import requests

from django_defacto.client import DefactoClient, DefactoError
from django_defacto.sandbox import Sandbox
from django_defacto.sandbox.control import SandboxControl

URL = "http://defacto-sandbox.invalid"


def timed(label: str, count: int, action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    elapsed = time.perf_counter() - started
    print(f"{label:<58} {elapsed:8.3f} s  {count / elapsed:10.0f} /s")
    return elapsed


def setup(base_url: str, session: requests.Session, **client_options):
    """A client and a control on the sandbox, with one signed borrower and one invoice."""
    client = DefactoClient("bench", base_url=base_url, session=session, **client_options)
    control = SandboxControl(base_url, session)
    business = client.sandbox.business_generator(is_borrower=True)
    borrower = client.borrowers.create(
        {**business, "signed_at": datetime.now(timezone.utc).isoformat()}
    )
    control.advance_clock(60)
    invoice = client.sandbox.invoice_generator({"scenario": "SUCCESS"})["invoice_creation_payload"]
    return client, control, borrower, invoice


def loan_body(borrower: dict, invoice: dict, amount: int) -> dict:
    now = datetime.now(timezone.utc)
    return {
        "amount": amount,
        "borrower": {"identifier": borrower["identifier"]},
        "loan_to": {"account_number": invoice["to_account"]["account_number"]},
        "to_pay_at": now.isoformat(),
        "to_repay_at": (now + timedelta(days=30)).isoformat(),
        "salt_id": uuid.uuid4().hex,
    }


def in_process(loans: int) -> None:
    sandbox = Sandbox(seed=1)
    client, control, borrower, invoice = setup(URL, sandbox.session(URL))
    timed(
        f"in-process: create {loans} loans",
        loans,
        lambda: [client.loans.create(loan_body(borrower, invoice, 1_000)) for _ in range(loans)],
    )
    timed(
        f"in-process: list all {loans} loans, pages of 100",
        loans,
        lambda: client.loans.list(page_size=100).to_list(),
    )
    timed(
        "in-process: advance the clock one hour (all loans move)",
        loans,
        lambda: control.advance_clock(3600),
    )
    sandbox.close()


def sandbox_memory(loans: int) -> None:
    # Measured apart from the timings: tracing allocations slows Python several times.
    tracemalloc.start()
    sandbox = Sandbox(seed=4)
    client, _, borrower, invoice = setup(URL, sandbox.session(URL))
    for _ in range(loans):
        client.loans.create(loan_body(borrower, invoice, 1_000))
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    label = f"in-process: memory held / peak with {loans} loans"
    print(f"{label:<58} {current / 2**20:8.1f} / {peak / 2**20:.1f} MiB")
    sandbox.close()


def under_faults(loans: int) -> None:
    sandbox = Sandbox(seed=2)
    session = sandbox.session(URL)
    client, control, borrower, invoice = setup(
        URL, session, timeout=(0.2, 0.2), retry_backoff=0.001, retry_backoff_cap=0.002
    )
    for kind in ("http_500", "timeout_504_after", "timeout_504_before", "connection_reset"):
        control.add_fault(kind, rate=0.075)

    def run() -> None:
        for _ in range(loans):
            body = loan_body(borrower, invoice, 1_000)
            while True:
                try:
                    client.loans.create(body)
                    break
                except DefactoError:
                    continue

    timed(f"in-process, 30% faults: create {loans} loans", loans, run)
    control.clear_faults()
    print(f"{'   loans stored':<58} {control.state()['counts']['loans']:8d}")
    sandbox.close()


def over_http(requests_count: int) -> None:
    sandbox = Sandbox(seed=3)
    server = sandbox.serve("127.0.0.1", 0)
    try:
        client, _, borrower, invoice = setup(server.url, requests.Session())
        latencies: list[float] = []

        def run() -> None:
            for _ in range(requests_count):
                started = time.perf_counter()
                client.loans.create(loan_body(borrower, invoice, 1_000))
                latencies.append(time.perf_counter() - started)

        timed(f"HTTP server: create {requests_count} loans, one pooled client", requests_count, run)
        latencies.sort()
        p50 = statistics.median(latencies) * 1000
        p99 = latencies[int(len(latencies) * 0.99) - 1] * 1000
        print(f"{'   latency p50 / p99':<58} {p50:6.2f} / {p99:.2f} ms")
    finally:
        server.stop()
        sandbox.close()


def run() -> None:
    # Retries under injected faults are expected here; their warnings would bury the figures.
    logging.getLogger("django_defacto").setLevel(logging.ERROR)
    print(f"{'benchmark':<58} {'time':>10}  {'rate':>12}")
    in_process(2_000)
    sandbox_memory(2_000)
    under_faults(100)
    over_http(500)


if __name__ == "__main__":
    run()

"""Webhook intake: `POST /defacto/webhooks/?token=` behind gunicorn (sync workers),
beside a bare view answering 200 in the same server (the ceiling) and a view that only
parses and stores the notification (the floor of any intake that stores before it
answers; `benchmarks/urls.py`). The load comes from another process. Celery is not
eager and its broker only queues (files in a temp dir): the endpoint stores the
notification and queues its processing, nothing more."""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .harness import Environment, Figure, percentile

SECTION = "Webhook intake"
WORKERS = 2 * (os.cpu_count() or 1) + 1  # gunicorn's own recommendation
THREADS = 6
SECONDS = 4.0
ROUNDS = 3
# The goals: at least this share of the bare view's throughput, and a p95 under this.
THROUGHPUT_GOAL = 0.8
P95_GOAL_MS = 15


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for(url: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, data=b"{}", timeout=1).read()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not answer at {url}")


def _load(url: str, kind: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.load", url, str(SECONDS), str(THREADS), kind],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    return json.loads(out.stdout)


def _median_ms(action: Callable[[], Any], times: int = 300) -> float:
    for _ in range(20):
        action()
    took = []
    for _ in range(times):
        started = time.perf_counter()
        action()
        took.append(time.perf_counter() - started)
    return statistics.median(took) * 1000


def profile(token: str) -> str:
    """One delivery's work in this process (Django's test client, same database and
    broker), step by step beside the bare view: what a server worker spends on it."""
    from django.test import Client

    from django_defacto.services.webhooks import record_delivery
    from django_defacto.tasks.webhooks import process_webhook_event

    from .load import notification

    browser = Client()
    url = f"/defacto/webhooks/?token={token}"
    bodies = iter(notification, None)
    whole = _median_ms(lambda: browser.post(url, next(bodies), content_type="application/json"))
    bare = _median_ms(lambda: browser.post("/bench/ok/", b"{}", content_type="application/json"))

    def store() -> None:
        body = next(bodies)
        record_delivery(json.loads(body), body)

    stored = _median_ms(store)
    queued = _median_ms(lambda: process_webhook_event.delay(0))
    rest = whole - bare - stored - queued
    return (
        "One delivery in-process, medians of 300 (ms):\n\n"
        "| step | ms |\n|---|---:|\n"
        f"| bare view through the same middleware (the ceiling's work) | {bare:.2f} |\n"
        f"| storing the notification (one INSERT, its own commit) | {stored:.2f} |\n"
        f"| queuing its processing (Celery publish to the broker) | {queued:.2f} |\n"
        f"| token check, reading and parsing the body, the answer | {rest:.2f} |\n"
        f"| whole delivery | {whole:.2f} |\n\n"
        "Storing before answering is what makes a delivery safe to acknowledge, and the "
        "task is what moves the work out of the request; both are a round trip (database, "
        "broker). Under load the server's workers, PostgreSQL and the load generator share "
        f"this machine's {os.cpu_count()} CPUs."
    )


def run(env: Environment) -> list[Figure]:
    from django_defacto.conf import defacto_settings
    from django_defacto.models import WebhookEvent

    from .urls import FLOOR_KEY_PREFIX

    token = defacto_settings().webhook_tokens[0]
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log = open(env.workdir / "gunicorn.log", "w")  # noqa: SIM115
    server = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("gunicorn")),
            "example_project.wsgi:application",
            f"--bind=127.0.0.1:{port}",
            f"--workers={WORKERS}",
            "--worker-class=sync",
            "--log-level=warning",
        ],
        env={**os.environ},
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=Path(__file__).resolve().parent.parent,
    )
    try:
        _wait_for(f"{base}/bench/ok/")
        targets = {
            "ceiling": f"{base}/bench/ok/",
            "floor": f"{base}/bench/webhook-floor/",
            "webhook": f"{base}/defacto/webhooks/?token={token}",
        }
        results: dict[str, dict] = {
            kind: {"n": 0, "t": 0.0, "lat": [], "errors": 0} for kind in targets
        }
        _load(targets["webhook"], "webhook")  # warm-up: connections, imports
        queue = env.workdir / "celery" / "queue"
        receiver_rows = WebhookEvent.objects.exclude(dedupe_key__startswith=FLOOR_KEY_PREFIX)
        stored_before = receiver_rows.count()
        queued_before = sum(1 for _ in queue.iterdir())
        # Alternated, so that a noisy neighbour weighs on all alike.
        for _ in range(ROUNDS):
            for kind in targets:
                outcome = _load(targets[kind], "ceiling" if kind == "ceiling" else "webhook")
                result = results[kind]
                result["n"] += len(outcome["latencies"])
                result["t"] += outcome["elapsed"]
                result["lat"].extend(outcome["latencies"])
                result["errors"] += outcome["errors"]
        stored = receiver_rows.count() - stored_before
        queued = sum(1 for _ in queue.iterdir()) - queued_before
    finally:
        server.terminate()
        server.wait(timeout=20)
        log.close()

    figures = []
    rate = {kind: r["n"] / r["t"] for kind, r in results.items()}
    lat = {kind: sorted(r["lat"]) for kind, r in results.items()}
    throughput_met = rate["webhook"] >= THROUGHPUT_GOAL * rate["ceiling"]
    p95_met = percentile(lat["webhook"], 0.95) * 1000 < P95_GOAL_MS
    missed = not (throughput_met and p95_met)
    floor_share = rate["floor"] / rate["ceiling"]
    explanation = ""
    if missed:
        explanation = (
            f"The floor, a view that only parses the notification and stores it (one INSERT, "
            f"committed alone), serves {rate['floor']:,.0f} deliveries per second, "
            f"{floor_share:.2f}x the ceiling, with a p95 of "
            f"{percentile(lat['floor'], 0.95) * 1000:.1f} ms; the receiver serves "
            f"{rate['webhook'] / rate['floor']:.2f}x the floor. Whatever stores a delivery "
            "before acknowledging it pays that round trip to the database.\n\n" + profile(token)
        )
    figures.append(
        Figure(
            SECTION,
            f"deliveries per second ({WORKERS} sync workers, {THREADS} client threads)",
            rate["webhook"],
            "req/s",
            "bare 200 view, same server (ceiling)",
            rate["ceiling"],
            goal=f">= {THROUGHPUT_GOAL}x ceiling",
            met=throughput_met,
            notes=(
                f"{results['webhook']['n']} deliveries stored {stored}, queued {queued} tasks; "
                f"errors {results['webhook']['errors']} vs {results['ceiling']['errors']}"
            ),
            explanation=explanation,
            extra={"stored": stored, "queued": queued},
        )
    )
    figures.append(
        Figure(
            SECTION,
            "deliveries per second vs the floor (parse and store only)",
            rate["webhook"],
            "req/s",
            "floor: a view that parses and stores the notification, same server",
            rate["floor"],
            notes=(
                f"floor {floor_share:.2f}x the ceiling; floor p95 "
                f"{percentile(lat['floor'], 0.95) * 1000:.1f} ms"
            ),
        )
    )
    for name, fraction in (("p50", 0.50), ("p95", 0.95), ("p99", 0.99)):
        value = percentile(lat["webhook"], fraction) * 1000
        figures.append(
            Figure(
                SECTION,
                f"latency {name}",
                value,
                "ms",
                "ceiling",
                percentile(lat["ceiling"], fraction) * 1000,
                goal=f"< {P95_GOAL_MS} ms" if name == "p95" else "",
                met=(value < P95_GOAL_MS) if name == "p95" else None,
            )
        )
    return figures

"""A load generator run as its own process: `python -m benchmarks.load URL SECONDS THREADS
KIND`; threads with keep-alive sessions POST for SECONDS and print JSON (count, errors,
latencies in seconds). KIND `webhook` sends a new notification each time."""

from __future__ import annotations

import json
import sys
import threading
import time
import uuid
from datetime import datetime, timezone

import requests


def notification() -> bytes:
    loan_id = str(uuid.uuid4())
    return json.dumps(
        {
            "id": str(uuid.uuid4()),
            "entity_type": "Loan",
            "event_type": "Loan.SUBMITTED",
            "status": "SUBMITTED",
            "transition_name": "submit",
            "timestamp": datetime.now(timezone.utc).isoformat(),
            "entity_state": {"id": loan_id, "status": "SUBMITTED"},
        }
    ).encode()


def main(url: str, seconds: float, threads: int, kind: str) -> None:
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def worker() -> None:
        session = requests.Session()
        mine: list[float] = []
        failed = 0
        headers = {"Content-Type": "application/json"}
        while time.perf_counter() < deadline:
            body = notification() if kind == "webhook" else b'{"id": "x"}'
            started = time.perf_counter()
            try:
                response = session.post(url, data=body, headers=headers, timeout=10)
                ok = response.status_code == 200
            except requests.RequestException:
                ok = False
            if ok:
                mine.append(time.perf_counter() - started)
            else:
                failed += 1
        with lock:
            latencies.extend(mine)
            errors[0] += failed

    started = time.perf_counter()
    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    elapsed = time.perf_counter() - started
    print(json.dumps({"elapsed": elapsed, "errors": errors[0], "latencies": latencies}))


if __name__ == "__main__":
    main(sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), sys.argv[4])

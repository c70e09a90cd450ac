"""Memory: the peak RSS of a process that syncs 10,000 loans (`sync_loans` into an empty
mirror) from the sandbox served over HTTP by the parent, so the sandbox's own memory is
not counted. Run as `python -m benchmarks.memory SANDBOX_URL` by `run`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from .harness import Figure
from .world import World, clear_loans

SECTION = "Memory"
LIMIT_MB = 200


def _vm(name: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(name + ":"):
            return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(url: str) -> None:
    from .harness import prepare_child

    prepare_child()
    from django_defacto.client import DefactoClient
    from django_defacto.conf import use_client
    from django_defacto.services.sync import sync_loans

    client = DefactoClient("bench", base_url=url)
    client.loans.list(page_size=1).pages().__next__()  # imports and connections first
    before = _vm("VmHWM")
    with use_client(client):
        report = sync_loans()
    print(json.dumps({"before": before, "peak": _vm("VmHWM"), "created": report.created}))


def run(world: World) -> list[Figure]:
    from django_defacto.conf import use_client
    from django_defacto.services.sync import sync_loans

    server = world.sandbox.serve("127.0.0.1", 0)
    clear_loans()
    try:
        out = subprocess.run(
            [sys.executable, "-m", "benchmarks.memory", server.url],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).resolve().parent.parent,
        )
    finally:
        server.stop()
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["created"] == world.loans, result
    with use_client(world.client):  # the mirror as the other figures expect it
        clear_loans()
        sync_loans()
    return [
        Figure(
            SECTION,
            f"peak RSS, sync of {world.loans:,} loans in a subprocess",
            result["peak"],
            "MB",
            "peak RSS once Django is set up, before the sync",
            result["before"],
            goal=f"< {LIMIT_MB} MB",
            met=result["peak"] < LIMIT_MB,
        )
    ]


if __name__ == "__main__":
    child(sys.argv[1])

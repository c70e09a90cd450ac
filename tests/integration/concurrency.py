"""Running the same step in several threads at once, as concurrent requests or workers do."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connection, models
from django.db.models.signals import pre_save


def at_once(step: Callable[[], Any], times: int, *, start_together: bool = True) -> list[Any]:
    """Run `step` in `times` threads and return what each returned or raised.

    With `start_together`, the threads wait for each other before calling `step`, so the
    calls overlap. Each thread closes its own database connection when done.
    """
    barrier = threading.Barrier(times) if start_together else None
    outcomes: list[Any] = []

    def run() -> None:
        try:
            if barrier is not None:
                barrier.wait()
            outcomes.append(step())
        except Exception as error:
            outcomes.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


@contextmanager
def meeting_before_insert(model: type[models.Model], parties: int = 2) -> Iterator[None]:
    """Hold each new `model` row just before its insert until `parties` of them got
    there: every request passes its own checks first, so only the database's
    constraints can stop the extra ones."""
    all_there = threading.Barrier(parties, timeout=30)

    def wait_for_the_others(sender: Any, instance: models.Model, **kwargs: Any) -> None:
        if instance._state.adding:
            all_there.wait()

    pre_save.connect(wait_for_the_others, sender=model, weak=False)
    try:
        yield
    finally:
        pre_save.disconnect(wait_for_the_others, sender=model)

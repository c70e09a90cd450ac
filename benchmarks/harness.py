"""What the benchmarks share: a database of their own, Django, an in-process sandbox with
a client that counts its requests, a query counter and the figures' record."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import requests

SANDBOX_URL = "http://defacto-sandbox.invalid"
POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/django_defacto"
# The benchmarks' own database, created and dropped by each run; DEFACTO_BENCH_DATABASE
# names another one, for two runs on the same server at once.
BENCH_DATABASE = os.environ.get("DEFACTO_BENCH_DATABASE") or "django_defacto_bench"


@dataclass
class Figure:
    """One measured figure beside its baseline, measured in the same run."""

    section: str
    name: str
    value: float
    unit: str
    baseline_name: str = ""
    baseline: float | None = None
    goal: str = ""
    met: bool | None = None
    notes: str = ""
    # For a goal missed: why, with the profile that shows it (Markdown).
    explanation: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if self.baseline in (None, 0):
            return None
        return self.value / self.baseline

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ratio": self.ratio}


@dataclass
class Environment:
    database_url: str
    vendor: str
    workdir: Path
    # The PostgreSQL database this run created (and drops at the end).
    database: str = ""
    started_at: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat())


def _postgres_answers(url: str) -> bool:
    try:
        import environ
        import psycopg
    except ImportError:
        return False
    config = environ.Env.db_url_config(url)
    try:
        psycopg.connect(**_psycopg_options(config, "postgres"), connect_timeout=3).close()
    except psycopg.Error:
        return False
    return True


def _psycopg_options(config: dict[str, Any], dbname: str) -> dict[str, Any]:
    return {
        "host": config.get("HOST") or "127.0.0.1",
        "port": config.get("PORT") or 5432,
        "user": config.get("USER") or "postgres",
        "password": config.get("PASSWORD") or None,
        "dbname": dbname,
    }


def _recreate_postgres(url: str, database: str) -> str:
    """Drop and create the benchmarks' own `database` on the server named by `url`; the
    database named there is never touched."""
    import environ
    import psycopg

    config = environ.Env.db_url_config(url)
    with psycopg.connect(**_psycopg_options(config, "postgres"), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{database}"')
    scheme, rest = url.split("://", 1)
    server = rest.split("/", 1)[0]
    return f"{scheme}://{server}/{database}"


def drop_database(env: Environment) -> None:
    if env.vendor == "postgresql" and env.database:
        import environ
        import psycopg
        from django.db import connections

        connections.close_all()
        config = environ.Env.db_url_config(env.database_url)
        with psycopg.connect(**_psycopg_options(config, "postgres"), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{env.database}" WITH (FORCE)')
    shutil.rmtree(env.workdir, ignore_errors=True)


class PostgresRequired(RuntimeError):
    """A run that measures PostgreSQL only found none."""


def prepare(*, postgres_only: bool = False, database: str = BENCH_DATABASE) -> Environment:
    """Choose the database (PostgreSQL from DATABASE_URL or on localhost, else SQLite, or
    `PostgresRequired` when `postgres_only`), create the benchmarks' own one (`database`),
    set Django up and migrate. The environment variables set here are inherited by the
    processes the benchmarks start."""
    given = os.environ.get("DATABASE_URL", "")
    postgres = given.startswith(("postgres://", "postgresql://")) or (
        not given and _postgres_answers(POSTGRES_URL)
    )
    if postgres_only and not postgres:
        where = (
            f"DATABASE_URL names {given.split(':', 1)[0]}"
            if given
            else (f"no server answers at {POSTGRES_URL.rsplit('/', 1)[0]}")
        )
        raise PostgresRequired(
            f"This run measures PostgreSQL only, and {where}. Start PostgreSQL on "
            "127.0.0.1:5432 or set DATABASE_URL=postgres://...; it is not run on SQLite."
        )
    workdir = Path(tempfile.mkdtemp(prefix="defacto-bench-"))
    if postgres:
        url = _recreate_postgres(given or POSTGRES_URL, database)
        vendor = "postgresql"
    else:
        url = f"sqlite:///{workdir / 'bench.sqlite3'}"
        vendor = "sqlite"
        database = ""
    os.environ["DATABASE_URL"] = url
    os.environ["DJANGO_SETTINGS_MODULE"] = "benchmarks.settings"
    # Tasks are queued to files in the work directory, never run inline nor by a worker.
    os.environ["CELERY_BROKER_URL"] = "filesystem://"
    os.environ["CELERY_DIR"] = str(workdir / "celery")
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "0"
    os.environ["DEFACTO_BEAT_SCHEDULE"] = "0"

    import django
    from django.core.management import call_command

    django.setup()
    for folder in ("queue", "processed", "control"):
        (workdir / "celery" / folder).mkdir(parents=True, exist_ok=True)
    call_command("migrate", verbosity=0, interactive=False)
    return Environment(database_url=url, vendor=vendor, workdir=workdir, database=database)


class RequestCounter:
    """Counts the HTTP requests a session sends (a response hook, so retries count)."""

    def __init__(self, session: requests.Session) -> None:
        self.count = 0
        session.hooks.setdefault("response", []).append(self._seen)

    def _seen(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        self.count += 1


class QueryCounter:
    """Counts the SQL statements run on the default connection while active."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)

    @contextmanager
    def active(self) -> Iterator[QueryCounter]:
        from django.db import connection

        with connection.execute_wrapper(self):
            yield self


def sandbox_client(sandbox: Any):
    """A client on the in-process `sandbox`, with the counter of its requests."""
    from django_defacto.client import DefactoClient

    session = sandbox.session(SANDBOX_URL)
    counter = RequestCounter(session)
    client = DefactoClient("bench", base_url=SANDBOX_URL, session=session)
    return client, counter


@contextmanager
def stopwatch() -> Iterator[list[float]]:
    """`with stopwatch() as t:` ... `t[0]` is the elapsed seconds once the block ends."""
    elapsed = [0.0]
    started = time.perf_counter()
    try:
        yield elapsed
    finally:
        elapsed[0] = time.perf_counter() - started


def percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(fraction * len(sorted_values)) - 1))
    return sorted_values[index]


def prepare_child() -> None:
    """Set Django up in a process the benchmarks started (the environment is inherited)."""
    import django

    django.setup()

"""The offline Defacto: one object that demos and tests talk to, in-process or over HTTP."""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .faults import CONTROL_PATH as FAULTS_PATH
from .faults import (
    ClientTimedOut,
    FaultInjector,
    FaultKind,
    fault_problem,
)
from .messages import ConnectionDropped, SandboxRequest, SandboxResponse
from .webhook_delivery import CONTROL_PATH as WEBHOOKS_PATH
from .webhook_delivery import DEFAULT_RETRY_DELAYS, WebhookDispatcher

if TYPE_CHECKING:
    import requests

    from .adapter import SandboxAdapter
    from .engine import SandboxEngine
    from .server import SandboxServer

logger = logging.getLogger("django_defacto.sandbox")

#: The base URL an in-process session answers on; `.invalid` never resolves, so a request
#: that misses the adapter fails loudly instead of reaching a real host.
DEFAULT_IN_PROCESS_URL = "http://defacto-sandbox.invalid"

_RESET_PATH = "/_sandbox/reset"
_READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_OUTCOMES_WITHOUT_EFFECT = frozenset(
    {
        FaultKind.HTTP_500,
        FaultKind.HTTP_401,
        FaultKind.HTTP_404,
        FaultKind.TIMEOUT_504_BEFORE,
        FaultKind.CONNECTION_RESET,
    }
)
_PROBLEM_OUTCOMES = _OUTCOMES_WITHOUT_EFFECT - {FaultKind.CONNECTION_RESET}


class StateFile:
    """Keeps the engine's state in a JSON file, written atomically when it changed."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._saved_version: int | None = None

    def load_into(self, engine: SandboxEngine) -> bool:
        """Return True when a saved state existed and is now loaded into `engine`."""
        if not self.path.exists():
            return False
        with self.path.open(encoding="utf-8") as handle:
            engine.load_state(json.load(handle))
        self._saved_version = engine.version
        logger.info("Sandbox state loaded from %s", self.path)
        return True

    def save_if_changed(self, engine: SandboxEngine) -> bool:
        """Return True when the engine changed since the last save and is now saved."""
        with self._lock:
            version = engine.version
            if version == self._saved_version:
                return False
            self._write(engine.dump_state())
            self._saved_version = version
            return True

    def _write(self, state: dict[str, Any]) -> None:
        directory = self.path.parent
        directory.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(
            prefix=f".{self.path.name}.", suffix=".tmp", dir=directory
        )
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                json.dump(state, handle, default=str)
                handle.flush()
                os.fsync(handle.fileno())
            # A crash mid-write must leave the previous state intact, hence the rename.
            os.replace(temporary, self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise


class Sandbox:
    """A stateful fake of Defacto with fault injection and webhook delivery.

    Use `session()` or `adapter()` for in-process calls with `requests`, `wsgi_app()` to
    mount it in a WSGI server, or `serve()` for a real HTTP server on a loopback port.
    """

    def __init__(
        self,
        *,
        decision_delay: float = 5.0,
        page_size: int = 100,
        api_key: str | None = None,
        state_file: str | os.PathLike[str] | None = None,
        seed: int | None = None,
        webhook_retry_delays: Sequence[float] = DEFAULT_RETRY_DELAYS,
        webhook_session: requests.Session | None = None,
        engine: SandboxEngine | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = DEFAULT_IN_PROCESS_URL
        self.faults = FaultInjector(seed=seed)
        self.webhooks = WebhookDispatcher(
            retry_delays=webhook_retry_delays, session=webhook_session, seed=seed
        )
        if engine is None:
            from .engine import SandboxEngine

            engine = SandboxEngine(
                decision_delay=decision_delay, page_size=page_size, api_key=api_key, seed=seed
            )
        self.engine = engine
        self.engine.deliver = self.webhooks.enqueue
        self.state_file = StateFile(state_file) if state_file else None
        if self.state_file is not None:
            self.state_file.load_into(self.engine)
        self._sleep = sleep
        self._servers: list[SandboxServer] = []

    # -- serving requests ------------------------------------------------------------------

    def handle(
        self, request: SandboxRequest, *, read_timeout: float | None = None
    ) -> SandboxResponse:
        """Return the sandbox's answer to `request`, with any injected fault applied.

        Raises `ConnectionDropped` when the connection must close without an answer, and
        `ClientTimedOut` when an injected latency outlasts `read_timeout` (the request has
        then taken effect, as a real one would have). A latency `after` the effect holds
        the answer of a request that took effect; one that failed (a problem answer or a
        reset) answers without it.
        """
        if _is_control(request.path, FAULTS_PATH):
            return self.faults.handle_control(request)
        if _is_control(request.path, WEBHOOKS_PATH):
            return self.webhooks.handle_control(request)

        decision = self.faults.decide(request)
        takes_effect = decision.outcome not in _OUTCOMES_WITHOUT_EFFECT
        if decision.latency:
            if read_timeout is not None and decision.latency > read_timeout:
                self._sleep(read_timeout)
                if takes_effect:
                    self._call_engine(request)
                raise ClientTimedOut(read_timeout)
            self._sleep(decision.latency)

        if decision.outcome in _PROBLEM_OUTCOMES:
            return fault_problem(decision.outcome, request)
        if decision.outcome is FaultKind.CONNECTION_RESET:
            raise ConnectionDropped(f"injected connection_reset on {request.path}")

        response = self._call_engine(request)
        if decision.latency_after:
            if read_timeout is not None:
                left = read_timeout - decision.latency
                if decision.latency_after > left:
                    self._sleep(max(left, 0.0))
                    raise ClientTimedOut(read_timeout)
            self._sleep(decision.latency_after)
        if decision.outcome is FaultKind.TIMEOUT_504_AFTER:
            return fault_problem(decision.outcome, request)
        return response

    def _call_engine(self, request: SandboxRequest) -> SandboxResponse:
        response = self.engine.handle(request)
        if request.path == _RESET_PATH and request.method == "POST" and response.status < 300:
            self.faults.clear()
        if request.method not in _READ_ONLY_METHODS:
            self.save_state()
        return response

    def tick(self) -> None:
        """Run the transitions that are due now, then save the state if it changed."""
        self.engine.tick()
        self.save_state()

    def reset(self) -> None:
        """Forget every entity and every fault; webhook chaos settings stay."""
        self.engine.reset()
        self.faults.clear()
        self.save_state()

    def save_state(self) -> None:
        """Write the state file now if one is configured and the state changed."""
        if self.state_file is None:
            return
        try:
            self.state_file.save_if_changed(self.engine)
        except OSError:
            logger.exception("Could not save the sandbox state to %s", self.state_file.path)

    # -- transports ------------------------------------------------------------------------

    def adapter(self) -> SandboxAdapter:
        """Return a `requests` transport adapter that answers from this sandbox, no sockets."""
        from .adapter import SandboxAdapter

        return SandboxAdapter(self)

    def session(self, base_url: str = DEFAULT_IN_PROCESS_URL) -> requests.Session:
        """Return a `requests.Session` whose calls to `base_url` are answered in-process."""
        import requests

        session = requests.Session()
        session.mount(base_url.rstrip("/") + "/", self.adapter())
        return session

    def wsgi_app(self) -> Callable[..., Any]:
        """Return a WSGI application serving this sandbox."""
        from .wsgi import SandboxWSGIApp

        return SandboxWSGIApp(self)

    def serve(
        self, host: str = "127.0.0.1", port: int = 0, *, verbose: bool = False
    ) -> SandboxServer:
        """Return a running HTTP server for this sandbox (port 0 picks a free one)."""
        from .server import SandboxServer

        server = SandboxServer(self, host=host, port=port, verbose=verbose)
        server.start()
        self._servers.append(server)
        return server

    def stop(self) -> None:
        """Stop servers and webhook delivery started by this sandbox, and save the state."""
        for server in self._servers:
            server.stop()
        self._servers.clear()
        self.webhooks.stop()
        self.save_state()

    close = stop

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _is_control(path: str, control_path: str) -> bool:
    return path == control_path or path.startswith(control_path + "/")

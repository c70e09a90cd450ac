"""The sandbox as a real HTTP server on a loopback port, for demos and end-to-end tests."""

from __future__ import annotations

import contextlib
import logging
import socket
import sys
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from .messages import ApiProblem, ConnectionDropped, SandboxRequest, SandboxResponse

if TYPE_CHECKING:
    from .sandbox import Sandbox

logger = logging.getLogger("django_defacto.sandbox.server")

#: How often due transitions (decisions, payments, bills) run in server mode.
TICK_INTERVAL = 0.5


class SandboxServer:
    """A running HTTP server for one sandbox, plus the ticker that moves its time along.

    `url` is the base URL to give a client. Use as a context manager or call `stop()`.
    """

    def __init__(
        self,
        sandbox: Sandbox,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        verbose: bool = False,
        tick_interval: float = TICK_INTERVAL,
    ) -> None:
        self.sandbox = sandbox
        self.tick_interval = tick_interval
        self._http = _SandboxHTTPServer((host, port), _SandboxRequestHandler)
        self._http.sandbox = sandbox
        self._http.verbose = verbose
        self._stopped = threading.Event()
        self._threads: list[threading.Thread] = []

    @property
    def host(self) -> str:
        return str(self._http.server_address[0])

    @property
    def port(self) -> int:
        return int(self._http.server_address[1])

    @property
    def url(self) -> str:
        """Return the base URL, e.g. `http://127.0.0.1:8765`."""
        host = self.host
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    def start(self) -> SandboxServer:
        """Start serving and ticking in background threads; returns self."""
        for name, target in (("http", self._serve), ("ticker", self._tick_until_stopped)):
            thread = threading.Thread(target=target, name=f"defacto-sandbox-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        """Stop serving, close open connections, stop the ticker and save the state."""
        if self._stopped.is_set():
            return
        self._stopped.set()
        self._http.shutdown()
        self._http.close_open_connections()
        self._http.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self.sandbox.save_state()

    def __enter__(self) -> SandboxServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _serve(self) -> None:
        self._http.serve_forever(poll_interval=0.1)

    def _tick_until_stopped(self) -> None:
        while not self._stopped.wait(self.tick_interval):
            try:
                self.sandbox.tick()
            except Exception:
                logger.exception("Sandbox tick failed")


class _SandboxHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False
    sandbox: Sandbox
    verbose: bool

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._open_connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(*args, **kwargs)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._open_connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._open_connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that timed out and hung up before its answer is routine here (the
        # latency fault exists to cause it); anything else is a sandbox bug worth a trace.
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError):
            logger.debug("Client %s left before its answer: %s", client_address[0], error)
            return
        logger.exception("Sandbox server failed on a request from %s", client_address[0])

    def close_open_connections(self) -> None:
        """Close kept-alive connections so no handler thread serves after `stop()`."""
        with self._connections_lock:
            connections = list(self._open_connections)
            self._open_connections.clear()
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class _SandboxRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "DefactoSandbox"
    # Idle keep-alive connections give up after this long rather than holding a thread.
    timeout = 60
    # Headers and body leave in separate writes; without TCP_NODELAY, Nagle's algorithm and
    # the client's delayed ACK add about 40 ms to every answer on a kept-alive connection.
    disable_nagle_algorithm = True
    server: _SandboxHTTPServer

    def do_GET(self) -> None:
        self._respond()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    def _respond(self) -> None:
        try:
            body = self._read_body()
        except ValueError:
            self._write(ApiProblem(400, "Bad Request", "Unreadable request body.").to_response())
            self.close_connection = True
            return
        request = SandboxRequest.from_url(self.command, self.path, dict(self.headers), body)
        try:
            answer = self.server.sandbox.handle(request)
        except ConnectionDropped:
            self._drop_connection()
            return
        except Exception:
            logger.exception("Sandbox failed on %s %s", request.method, request.path)
            answer = ApiProblem(500, "Internal Server Error", "The sandbox crashed.").to_response(
                request.path
            )
        self._write(answer)
        if self.server.verbose:
            logger.info("%s %s -> %s", request.method, request.path, answer.status)

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked()
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0:
            raise ValueError("negative Content-Length")
        return self.rfile.read(length) if length else b""

    def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip(), 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(chunks)
            chunks.append(self.rfile.read(size))
            self.rfile.readline()

    def _write(self, answer: SandboxResponse) -> None:
        body = answer.encoded_body()
        try:
            phrase = HTTPStatus(answer.status).phrase
        except ValueError:
            phrase = ""
        self.send_response_only(answer.status, phrase)
        self.send_header("Server", self.version_string())
        self.send_header("Date", self.date_time_string())
        headers = dict(answer.headers)
        if body and not any(name.lower() == "content-type" for name in headers):
            headers["Content-Type"] = "application/json"
        for name, value in headers.items():
            if name.lower() not in ("content-length", "connection"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _drop_connection(self) -> None:
        """Close the socket without a byte of response, like a reset by a proxy."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def log_message(self, format: str, *args: Any) -> None:
        # The standard handler writes every request to stderr; keep it behind --verbose.
        if self.server.verbose:
            logger.info("%s " + format, self.address_string(), *args)

    def log_request(self, code: Any = "-", size: Any = "-") -> None:
        """Per-request lines come from `_respond`, which knows the path without its query."""

"""A small HTTP/1.1 server on 127.0.0.1 in a thread, for fake API endpoints.

A test gives it a `handler(request, reply)` function; `reply` can send JSON, stream server-sent events,
JSON lines or raw bytes (chunked, as real servers do), stall, or cut the connection mid-answer, which is what
the fault tests need. GET and POST both reach the handler (a GET's body is None).
"""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from collections import Counter
from typing import Any, Callable, Iterable


class FaultPlan:
    """What a fake API does wrong, and when: `plan(prompt, attempt)` names the fault of each attempt at a prompt
    (None, "429", "500", "400", "refuse", "slow", or one the fake knows), and every attempt is counted."""

    def __init__(self, plan: Callable[[str, int], str | None] | None, slow_s: float,
                 retry_headers: dict[str, str] | None, default_retry_headers: dict[str, str]):
        self.plan = plan or (lambda prompt, attempt: None)
        self.slow_s = slow_s
        self.retry_headers = retry_headers if retry_headers is not None else default_retry_headers
        self.attempts: Counter[str] = Counter()
        self.events: list[tuple[str, int, str | None]] = []  # (prompt, attempt, fault)
        self._lock = threading.Lock()

    def next_fault(self, prompt: str) -> str | None:
        with self._lock:
            self.attempts[prompt] += 1
            attempt = self.attempts[prompt]
            fault = self.plan(prompt, attempt)
            self.events.append((prompt, attempt, fault))
        return fault

    def transport_fault(self, fault: str | None, reply: "Reply") -> bool:
        """A cut connection (True: the request is over) or a stall before the answer."""
        if fault == "refuse":
            reply.drop()
            return True
        if fault == "slow":
            reply.stall(self.slow_s)
        return False


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: Any
    received_at: float = field(default_factory=time.monotonic)


class Reply:
    """What a handler can do with one request."""

    def __init__(self, handler: BaseHTTPRequestHandler):
        self._h = handler

    def json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self._h.send_response(status)
        self._h.send_header("Content-Type", "application/json")
        self._h.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self._h.send_header(name, value)
        self._h.end_headers()
        self._h.wfile.write(data)
        self._h.wfile.flush()

    def start_stream(self, content_type: str = "text/event-stream", headers: dict[str, str] | None = None) -> None:
        self._h.send_response(200)
        self._h.send_header("Content-Type", content_type)
        self._h.send_header("Cache-Control", "no-cache")
        self._h.send_header("Transfer-Encoding", "chunked")
        for name, value in (headers or {}).items():
            self._h.send_header(name, value)
        self._h.end_headers()
        self._h.wfile.flush()

    def chunk(self, payload: bytes) -> None:
        """One chunk of a chunked body, sent at once."""
        self._h.wfile.write(f"{len(payload):x}\r\n".encode() + payload + b"\r\n")
        self._h.wfile.flush()

    def event(self, data: Any, event: str | None = None) -> None:
        text = (f"event: {event}\n" if event else "") + "data: " + (data if isinstance(data, str)
                                                                    else json.dumps(data)) + "\n\n"
        self.chunk(text.encode())

    def json_line(self, data: Any) -> None:
        """One object of a newline-delimited JSON stream (Ollama's)."""
        self.chunk((json.dumps(data) + "\n").encode())

    def end_stream(self) -> None:
        self._h.wfile.write(b"0\r\n\r\n")
        self._h.wfile.flush()

    def stream(self, events: Iterable[tuple[str | None, Any]], gap_s: float = 0.0) -> None:
        self.start_stream()
        for name, data in events:
            if gap_s:
                time.sleep(gap_s)
            self.event(data, name)
        self.end_stream()

    def drop(self) -> None:
        """Cut the connection now: whatever was sent stays incomplete (no final chunk)."""
        self._h.close_connection = True
        try:
            self._h.wfile.flush()
            self._h.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def stall(self, seconds: float) -> None:
        time.sleep(seconds)


Handler = Callable[[Request, Reply], None]


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # Clients that time out or give up reset their connections: expected here, not worth a traceback.
        import sys

        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)


class LocalServer:
    """`with LocalServer(handler) as server:` serves on `server.url` until the block ends."""

    def __init__(self, handler: Handler):
        self.handler = handler
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        outer = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = raw.decode(errors="replace")
                request = Request("POST", self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                with outer._lock:
                    outer.requests.append(request)
                try:
                    outer.handler(request, Reply(self))
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True  # the client gave up (its timeout): nothing to answer

            def do_GET(self):  # noqa: N802
                request = Request("GET", self.path, {k.lower(): v for k, v in self.headers.items()}, None)
                with outer._lock:
                    outer.requests.append(request)
                try:
                    outer.handler(request, Reply(self))
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True

            def log_message(self, *args):  # keep test output quiet
                pass

        self._server = _QuietServer(("127.0.0.1", 0), _Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="fake-api", daemon=True)

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> "LocalServer":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

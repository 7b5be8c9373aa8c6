"""A local fake of the Anthropic Messages API (`POST /v1/messages`) for the real SDK to talk to.

Script replies with `reply_text` / `reply_tool_use` / `fail`, point the SDK at `server.url`, then
read what it sent from `server.requests`. An empty queue answers a non-retried 400 so a test that
asks more than it scripted fails at once.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self

_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server saw it; header names are lower-case."""

    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any]

    @property
    def api_key(self) -> str | None:
        """The key sent as `x-api-key`, or as `Authorization: Bearer` (what anthropic 2.x does)."""
        if "x-api-key" in self.headers:
            return self.headers["x-api-key"]
        scheme, _, token = self.headers.get("authorization", "").partition(" ")
        return token if scheme.lower() == "bearer" and token else None


@dataclass(frozen=True)
class _Reply:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


class FakeAnthropic:
    """A real HTTP server on 127.0.0.1 and a free port, in a background thread."""

    def __init__(self) -> None:
        self.requests: list[RecordedRequest] = []
        self._replies: deque[_Reply] = deque()
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        # A short poll interval makes `stop()` quick; the default half second adds up over tests.
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.02},
            name="fake-anthropic",
            daemon=True,
        )

    @property
    def url(self) -> str:
        """The base URL to give the SDK (`base_url=` or ANTHROPIC_BASE_URL)."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # --- scripting the answers -------------------------------------------------------------

    def reply_message(
        self,
        content: list[dict[str, Any]],
        *,
        stop_reason: str = "end_turn",
        input_tokens: int = 100,
        output_tokens: int = 20,
        model: str | None = None,
    ) -> None:
        """Queue a 200 answer with these content blocks; `model=None` echoes the request's."""
        body = {
            "id": f"msg_fake_{next(self._ids):04d}",
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": content,
            "stop_reason": stop_reason,
            "stop_sequence": None,
            "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens},
        }
        self._queue(_Reply(200, body))

    def reply_text(self, text: str, *, input_tokens: int = 100, output_tokens: int = 20) -> None:
        self.reply_message(
            [{"type": "text", "text": text}],
            input_tokens=input_tokens,
            output_tokens=output_tokens,
        )

    def reply_tool_use(
        self,
        name: str,
        tool_input: dict[str, Any],
        *,
        text: str | None = None,
        tool_use_id: str | None = None,
        input_tokens: int = 100,
        output_tokens: int = 20,
    ) -> str:
        """Queue an answer asking for one tool; returns the tool_use id it carries."""
        tool_use_id = tool_use_id or f"toolu_fake_{next(self._ids):04d}"
        content: list[dict[str, Any]] = [{"type": "text", "text": text}] if text else []
        content.append({"type": "tool_use", "id": tool_use_id, "name": name, "input": tool_input})
        self.reply_message(
            content,
            stop_reason="tool_use",
            input_tokens=input_tokens,
            output_tokens=output_tokens,
        )
        return tool_use_id

    def fail(
        self, status: int, message: str = "scripted failure", *, retry_after_ms: int = 10
    ) -> None:
        """Queue an API error answer (e.g. 529 overloaded, 500, 401) in the API's error shape."""
        body = {
            "type": "error",
            "error": {"type": _ERROR_TYPES.get(status, "api_error"), "message": message},
        }
        # The real API tells clients when to retry; a short wait keeps retry tests fast.
        self._queue(_Reply(status, body, {"retry-after-ms": str(retry_after_ms)}))

    @property
    def pending(self) -> int:
        """Scripted replies not yet given."""
        with self._lock:
            return len(self._replies)

    def message_requests(self) -> Iterator[RecordedRequest]:
        return (r for r in self.requests if r.path.startswith("/v1/messages"))

    def _queue(self, reply: _Reply) -> None:
        with self._lock:
            self._replies.append(reply)

    def _answer(self, request: RecordedRequest) -> _Reply:
        with self._lock:
            self.requests.append(request)
            if request.method != "POST" or not request.path.startswith("/v1/messages"):
                return _error(404, f"the fake serves POST /v1/messages only, not {request.path}")
            if not self._replies:
                return _error(400, "the fake Anthropic server has no scripted reply left")
            reply = self._replies.popleft()
        if reply.status == 200 and reply.body["model"] is None:
            reply = _Reply(200, {**reply.body, "model": request.body.get("model")})
        return reply


def _error(status: int, message: str) -> _Reply:
    body = {
        "type": "error",
        "error": {"type": _ERROR_TYPES.get(status, "api_error"), "message": message},
    }
    return _Reply(status, body, {"x-should-retry": "false"})


def _handler_for(fake: FakeAnthropic) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            self._serve("POST")

        def do_GET(self) -> None:
            self._serve("GET")

        def _serve(self, method: str) -> None:
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else {}
            headers = {name.lower(): value for name, value in self.headers.items()}
            reply = fake._answer(RecordedRequest(method, self.path, headers, body))
            payload = json.dumps(reply.body).encode()
            self.send_response(reply.status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(payload)))
            self.send_header("request-id", f"req_fake_{len(fake.requests):04d}")
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            # Quiet: the test asserts on `fake.requests`, not on an access log.
            return

    return Handler

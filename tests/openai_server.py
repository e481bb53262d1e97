"""A loopback OpenAI chat-completions server that replays scripted answers in vLLM's wire shape.

Each POST /v1/chat/completions takes the next step of the script: a ``Completion`` (sent as one
``chat.completion`` object, or as SSE ``chat.completion.chunk``s with tool-call deltas when the
request has ``stream: true``) or a ``Fault`` (an HTTP error in vLLM's error shape, a garbage body, a
delay past the client's timeout, or a dropped connection). A step may also be a function of the
request body that returns one. Every request is recorded, so tests count what the client sent.
"""

from __future__ import annotations

import itertools
import json
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Completion:
    """A 200 answer: text and/or tool calls (arguments as a dict, or a raw string sent verbatim)."""

    content: str | None = None
    tool_calls: tuple[tuple[str, dict[str, Any] | str], ...] = ()
    finish_reason: str | None = None  # default: "tool_calls" with calls, else "stop"
    chunk_delay: float = 0.0  # seconds between streamed chunks (a server that trickles tokens)


@dataclass(frozen=True)
class Fault:
    """A failed answer: a status and raw body, after an optional delay, or a dropped connection."""

    status: int = 200
    body: str = ""
    content_type: str = "application/json"
    delay: float = 0.0
    drop: bool = False
    headers: tuple[tuple[str, str], ...] = ()  # extra response headers, e.g. Retry-After


def text(content: str) -> Completion:
    """A plain text answer."""
    return Completion(content=content)


def calls(*tool_calls: tuple[str, dict[str, Any] | str]) -> Completion:
    """An answer with tool calls only (content null, as vLLM's tool parsers return it)."""
    return Completion(tool_calls=tuple(tool_calls))


def error(status: int, message: str, kind: str = "BadRequestError", **headers: str) -> Fault:
    """An HTTP error with vLLM's error body (header names as keywords, ``_`` for ``-``)."""
    body = {"error": {"message": message, "type": kind, "param": None, "code": status}}
    extra = tuple((name.replace("_", "-"), value) for name, value in headers.items())
    return Fault(status=status, body=json.dumps(body), headers=extra)


Step = Completion | Fault | Callable[[dict[str, Any]], "Completion | Fault"]

CONTEXT_OVERFLOW = (
    "This model's maximum context length is 2048 tokens. However, you requested 2304 tokens "
    "(1792 in the messages, 512 in the completion). Please reduce the length of the messages or completion."
)


AUTO_TOOL_CHOICE_400 = '"auto" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set'


@dataclass
class Recorded:
    """One request the server received."""

    method: str
    path: str
    body: dict[str, Any] = field(default_factory=dict)


class OpenAIServer:
    """The loopback server; use as a context manager, point the client at ``url``."""

    def __init__(
        self,
        script: list[Step] | None = None,
        *,
        models: tuple[str, ...] = ("test-model",),
        port: int = 0,
        max_model_len: int = 32768,
    ) -> None:
        self.script = list(script or [])
        self.models = models
        self.max_model_len = max_model_len  # listed by /v1/models, as vLLM does
        self.requests: list[Recorded] = []
        self.unscripted = 0  # chat requests that found the script empty (answered with a 500)
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), _handler(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """The OpenAI API root, like vLLM's http://host:port/v1."""
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    @property
    def chat_requests(self) -> list[dict[str, Any]]:
        """The bodies of the chat-completion requests, in order."""
        return [r.body for r in self.requests if r.path.endswith("/chat/completions")]

    def __enter__(self) -> OpenAIServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def next_step(self, body: dict[str, Any]) -> Completion | Fault:
        """Record a chat request and take its scripted answer."""
        with self._lock:
            self.requests.append(Recorded("POST", "/v1/chat/completions", body))
            if not self.script:
                self.unscripted += 1
                return error(500, "the test script has no answer left", "InternalServerError")
            step = self.script.pop(0)
        return step(body) if callable(step) else step


def _handler(server: OpenAIServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # quiet test output
            pass

        def do_GET(self) -> None:
            server.requests.append(Recorded("GET", self.path))
            if self.path.rstrip("/") != "/v1/models":
                self._send(404, json.dumps({"error": {"message": f"no route {self.path}", "code": 404}}))
                return
            data = [{"id": m, "object": "model", "created": int(time.time()), "owned_by": "vllm", "root": m,
                     "parent": None, "max_model_len": server.max_model_len} for m in server.models]  # fmt: skip
            self._send(200, json.dumps({"object": "list", "data": data}))

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            if self.path != "/v1/chat/completions":
                self._send(404, json.dumps({"error": {"message": f"no route {self.path}", "code": 404}}))
                return
            step = server.next_step(body)
            try:
                if isinstance(step, Fault):
                    self._fault(step)
                elif body.get("stream"):
                    self._stream(step, body)
                else:
                    self._send(200, json.dumps(completion(step, body)))
            except OSError:  # the client gave up (timeout) while we were answering
                self.close_connection = True

        def _fault(self, fault: Fault) -> None:
            if fault.delay:
                server.stopping.wait(fault.delay)
            if fault.drop:
                self.close_connection = True  # no status line: the client sees a disconnect
                return
            self._send(fault.status, fault.body, fault.content_type, fault.headers)

        def _stream(self, step: Completion, body: dict[str, Any]) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.end_headers()
            self.close_connection = True
            for chunk in chunks(step, body):
                self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                self.wfile.flush()
                if step.chunk_delay and server.stopping.wait(step.chunk_delay):
                    return
            self.wfile.write(b"data: [DONE]\n\n")
            self.wfile.flush()

        def _send(self, status: int, payload: str, content_type: str = "application/json", headers: Any = ()) -> None:
            data = payload.encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler


_tool_ids = itertools.count()


def tool_call_id() -> str:
    """vLLM's tool-call id style."""
    return f"chatcmpl-tool-{uuid.uuid4().hex[:24]}{next(_tool_ids)}"


def finish_reason(step: Completion) -> str:
    """The finish reason vLLM reports for an answer."""
    return step.finish_reason or ("tool_calls" if step.tool_calls else "stop")


def arguments(value: dict[str, Any] | str) -> str:
    """Tool-call arguments as the JSON string the API carries."""
    return value if isinstance(value, str) else json.dumps(value)


def usage(body: dict[str, Any], step: Completion) -> dict[str, Any]:
    """Token usage, roughly counted (four characters a token)."""
    prompt = len(json.dumps(body.get("messages", []))) // 4
    out = (len(step.content or "") + sum(len(arguments(a)) for _, a in step.tool_calls)) // 4 + 1
    return {"prompt_tokens": prompt, "total_tokens": prompt + out, "completion_tokens": out,
            "prompt_tokens_details": None}  # fmt: skip


def completion(step: Completion, body: dict[str, Any]) -> dict[str, Any]:
    """A non-streaming chat.completion in vLLM's shape."""
    tool_calls = [
        {"id": tool_call_id(), "type": "function", "function": {"name": name, "arguments": arguments(args)}}
        for name, args in step.tool_calls
    ]
    message = {"role": "assistant", "content": step.content, "refusal": None, "annotations": None, "audio": None,
               "function_call": None, "tool_calls": tool_calls, "reasoning_content": None}  # fmt: skip
    choice = {"index": 0, "message": message, "logprobs": None, "finish_reason": finish_reason(step),
              "stop_reason": None}  # fmt: skip
    return {"id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion", "created": int(time.time()),
            "model": body.get("model"), "choices": [choice], "service_tier": None, "system_fingerprint": None,
            "usage": usage(body, step), "prompt_logprobs": None, "kv_transfer_params": None}  # fmt: skip


def chunks(step: Completion, body: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The chat.completion.chunk sequence vLLM streams: role, text pieces, tool-call deltas, finish, usage."""
    base = {"id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion.chunk", "created": int(time.time()),
            "model": body.get("model")}  # fmt: skip

    def chunk(delta: dict[str, Any], reason: str | None = None) -> dict[str, Any]:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": reason}
        return {**base, "choices": [choice]}

    yield chunk({"role": "assistant", "content": ""})
    for piece in re.findall(r"\S+\s*|\s+", step.content or ""):
        yield chunk({"content": piece})
    for index, (name, args) in enumerate(step.tool_calls):
        head = {"index": index, "id": tool_call_id(), "type": "function", "function": {"name": name, "arguments": ""}}
        yield chunk({"tool_calls": [head]})
        raw = arguments(args)
        for start in range(0, len(raw), 8):
            yield chunk({"tool_calls": [{"index": index, "function": {"arguments": raw[start : start + 8]}}]})
    yield chunk({"content": ""}, finish_reason(step))
    if (body.get("stream_options") or {}).get("include_usage"):
        yield {**base, "choices": [], "usage": usage(body, step)}


def free_port() -> int:
    """A loopback port nothing listens on (for 'server down' and for starting servers)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])

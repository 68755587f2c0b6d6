"""A loopback HTTP server that speaks the OpenAI Chat Completions and Responses APIs and the
Anthropic Messages API, JSON and SSE streaming, so the real client libraries can be traced
without the network.

Replies are scripted: tests queue :class:`Reply` objects and the server renders each in the wire
format of the endpoint that asked. With nothing queued it answers ``"ok"``. Every request body is
kept in ``requests`` so tests can check what the client sent (``stream_options`` for example).
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

CREATED = 1_700_000_000


@dataclass(frozen=True)
class ToolCall:
    call_id: str
    name: str
    arguments: dict[str, Any]


@dataclass(frozen=True)
class Reply:
    """One model answer: text, tool calls or both, with the usage the provider reports.

    ``input_tokens`` counts every prompt token including cached ones; each provider's rendering
    converts to its own convention (Anthropic reports uncached input separately).
    """

    text: str | None = "ok"
    tool_calls: tuple[ToolCall, ...] = ()
    input_tokens: int = 10
    output_tokens: int = 5
    cached_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    chunks: int = 2
    model: str | None = None
    error_status: int | None = None

    def text_chunks(self) -> list[str]:
        text = self.text or ""
        if not text:
            return []
        size = max(1, -(-len(text) // self.chunks))
        return [text[i : i + size] for i in range(0, len(text), size)]


@dataclass
class FakeProvider:
    """The scripted server state; ``base_url`` is set once the server listens."""

    base_url: str = ""
    replies: deque[Reply] = field(default_factory=deque)
    requests: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def queue(self, *replies: Reply) -> None:
        with self._lock:
            self.replies.extend(replies)

    def next_reply(self, path: str, body: dict[str, Any]) -> Reply:
        with self._lock:
            self.requests.append((path, body))
            return self.replies.popleft() if self.replies else Reply()

    @property
    def openai_base_url(self) -> str:
        return f"{self.base_url}/v1"


# --- OpenAI Chat Completions -------------------------------------------------------------


def _chat_usage(r: Reply) -> dict[str, Any]:
    return {
        "prompt_tokens": r.input_tokens,
        "completion_tokens": r.output_tokens,
        "total_tokens": r.input_tokens + r.output_tokens,
        "prompt_tokens_details": {"cached_tokens": r.cached_tokens},
        "completion_tokens_details": {"reasoning_tokens": r.reasoning_tokens},
    }


def _chat_tool_calls(r: Reply) -> list[dict[str, Any]]:
    return [
        {
            "id": c.call_id,
            "type": "function",
            "function": {"name": c.name, "arguments": json.dumps(c.arguments)},
        }
        for c in r.tool_calls
    ]


def chat_completion(r: Reply, model: str) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": r.text}
    if r.tool_calls:
        message["tool_calls"] = _chat_tool_calls(r)
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": CREATED,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": "tool_calls" if r.tool_calls else "stop",
                "logprobs": None,
            }
        ],
        "usage": _chat_usage(r),
    }


def chat_completion_chunks(r: Reply, model: str, include_usage: bool) -> Iterator[dict[str, Any]]:
    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {
            "id": "chatcmpl-1",
            "object": "chat.completion.chunk",
            "created": CREATED,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
        }

    yield chunk({"role": "assistant", "content": ""})
    for piece in r.text_chunks():
        yield chunk({"content": piece})
    for index, call in enumerate(_chat_tool_calls(r)):
        yield chunk({"tool_calls": [{"index": index, **call}]})
    yield chunk({}, "tool_calls" if r.tool_calls else "stop")
    if include_usage:
        yield {
            "id": "chatcmpl-1",
            "object": "chat.completion.chunk",
            "created": CREATED,
            "model": model,
            "choices": [],
            "usage": _chat_usage(r),
        }


# --- OpenAI Responses --------------------------------------------------------------------


def _response_items(r: Reply) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    if r.text:
        items.append(
            {
                "type": "message",
                "id": "msg_1",
                "status": "completed",
                "role": "assistant",
                "content": [{"type": "output_text", "text": r.text, "annotations": []}],
            }
        )
    for i, c in enumerate(r.tool_calls):
        items.append(
            {
                "type": "function_call",
                "id": f"fc_{i}",
                "call_id": c.call_id,
                "name": c.name,
                "arguments": json.dumps(c.arguments),
                "status": "completed",
            }
        )
    return items


def response_object(
    r: Reply, model: str, *, done: bool = True, instructions: Any = None
) -> dict[str, Any]:
    return {
        "id": "resp_1",
        "instructions": instructions,
        "object": "response",
        "created_at": CREATED,
        "status": "completed" if done else "in_progress",
        "model": model,
        "output": _response_items(r) if done else [],
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "usage": {
            "input_tokens": r.input_tokens,
            "input_tokens_details": {
                "cached_tokens": r.cached_tokens,
                "cache_write_tokens": r.cache_write_tokens,
            },
            "output_tokens": r.output_tokens,
            "output_tokens_details": {"reasoning_tokens": r.reasoning_tokens},
            "total_tokens": r.input_tokens + r.output_tokens,
        }
        if done
        else None,
    }


def response_events(r: Reply, model: str, instructions: Any = None) -> Iterator[dict[str, Any]]:
    seq = iter(range(1_000_000))
    yield {
        "type": "response.created",
        "sequence_number": next(seq),
        "response": response_object(r, model, done=False, instructions=instructions),
    }
    for index, item in enumerate(_response_items(r)):
        if item["type"] == "message":
            empty = {**item, "status": "in_progress", "content": []}
            yield {
                "type": "response.output_item.added",
                "sequence_number": next(seq),
                "output_index": index,
                "item": empty,
            }
            yield {
                "type": "response.content_part.added",
                "sequence_number": next(seq),
                "item_id": item["id"],
                "output_index": index,
                "content_index": 0,
                "part": {"type": "output_text", "text": "", "annotations": []},
            }
            for piece in r.text_chunks():
                yield {
                    "type": "response.output_text.delta",
                    "sequence_number": next(seq),
                    "item_id": item["id"],
                    "output_index": index,
                    "content_index": 0,
                    "delta": piece,
                    "logprobs": [],
                }
        else:
            yield {
                "type": "response.output_item.added",
                "sequence_number": next(seq),
                "output_index": index,
                "item": item,
            }
        yield {
            "type": "response.output_item.done",
            "sequence_number": next(seq),
            "output_index": index,
            "item": item,
        }
    yield {
        "type": "response.completed",
        "sequence_number": next(seq),
        "response": response_object(r, model, instructions=instructions),
    }


# --- Anthropic Messages ------------------------------------------------------------------


def _anthropic_usage(r: Reply) -> dict[str, Any]:
    usage: dict[str, Any] = {
        "input_tokens": r.input_tokens - r.cached_tokens - r.cache_write_tokens,
        "output_tokens": r.output_tokens,
        "cache_read_input_tokens": r.cached_tokens,
        "cache_creation_input_tokens": r.cache_write_tokens,
    }
    if r.reasoning_tokens:
        usage["output_tokens_details"] = {"thinking_tokens": r.reasoning_tokens}
    return usage


def _anthropic_blocks(r: Reply) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    if r.text:
        blocks.append({"type": "text", "text": r.text})
    blocks.extend(
        {"type": "tool_use", "id": c.call_id, "name": c.name, "input": c.arguments}
        for c in r.tool_calls
    )
    return blocks


def anthropic_message(r: Reply, model: str) -> dict[str, Any]:
    return {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": _anthropic_blocks(r),
        "stop_reason": "tool_use" if r.tool_calls else "end_turn",
        "stop_sequence": None,
        "usage": _anthropic_usage(r),
    }


def anthropic_events(r: Reply, model: str) -> Iterator[dict[str, Any]]:
    start = anthropic_message(r, model)
    start_usage = {**start["usage"], "output_tokens": 1}
    start_usage.pop("output_tokens_details", None)
    yield {
        "type": "message_start",
        "message": {**start, "content": [], "stop_reason": None, "usage": start_usage},
    }
    for index, block in enumerate(_anthropic_blocks(r)):
        if block["type"] == "text":
            yield {
                "type": "content_block_start",
                "index": index,
                "content_block": {"type": "text", "text": ""},
            }
            for piece in r.text_chunks():
                yield {
                    "type": "content_block_delta",
                    "index": index,
                    "delta": {"type": "text_delta", "text": piece},
                }
        else:
            yield {
                "type": "content_block_start",
                "index": index,
                "content_block": {**block, "input": {}},
            }
            yield {
                "type": "content_block_delta",
                "index": index,
                "delta": {"type": "input_json_delta", "partial_json": json.dumps(block["input"])},
            }
        yield {"type": "content_block_stop", "index": index}
    final_usage: dict[str, Any] = {"output_tokens": r.output_tokens}
    if r.reasoning_tokens:
        final_usage["output_tokens_details"] = {"thinking_tokens": r.reasoning_tokens}
    yield {
        "type": "message_delta",
        "delta": {"stop_reason": start["stop_reason"], "stop_sequence": None},
        "usage": final_usage,
    }
    yield {"type": "message_stop"}


# --- HTTP plumbing -----------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        path = self.path.split("?", 1)[0]
        provider = self.server.provider
        reply = provider.next_reply(path, body)
        model = reply.model or body.get("model", "unknown-model")
        if reply.error_status is not None:
            error = {"type": "invalid_request_error", "message": "scripted failure"}
            self._json({"type": "error", "error": error}, status=reply.error_status)
            return
        stream = bool(body.get("stream"))
        if path.endswith("/chat/completions"):
            if stream:
                include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
                self._sse((None, c) for c in chat_completion_chunks(reply, model, include_usage))
                return
            self._json(chat_completion(reply, model))
        elif path.endswith("/responses"):
            if stream:
                events = response_events(reply, model, body.get("instructions"))
                self._sse((e["type"], e) for e in events)
                return
            self._json(response_object(reply, model, instructions=body.get("instructions")))
        elif path.endswith("/messages"):
            if stream:
                self._sse((e["type"], e) for e in anthropic_events(reply, model))
                return
            self._json(anthropic_message(reply, model))
        else:
            self._json({"error": {"message": f"no route {path}"}}, status=404)

    def _json(self, payload: dict[str, Any], status: int = 200) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _sse(self, events: Iterator[tuple[str | None, dict[str, Any]]]) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("cache-control", "no-cache")
        self.send_header("connection", "close")
        self.end_headers()
        for name, payload in events:
            prefix = f"event: {name}\n" if name else ""
            self.wfile.write(f"{prefix}data: {json.dumps(payload)}\n\n".encode())
        if not self.path.split("?", 1)[0].endswith(("/messages", "/responses")):
            self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()
        self.close_connection = True


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, provider: FakeProvider) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.provider = provider


class RunningProvider:
    """Context manager: serve a :class:`FakeProvider` on 127.0.0.1 and a free port."""

    def __init__(self) -> None:
        self.provider = FakeProvider()
        self._server = _Server(self.provider)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def __enter__(self) -> FakeProvider:
        host, port = self._server.server_address[:2]
        self.provider.base_url = f"http://{host!s}:{port}"
        self._thread.start()
        return self.provider

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

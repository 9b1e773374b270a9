"""A fake vLLM OpenAI-compatible server: /v1/chat/completions streamed, with the vLLM behaviours a user's
settings run into.

- Structured output: `response_format: {"type": "json_schema", ...}` constrains the answer in every version;
  `guided_json` (a top-level field) only before 0.12, `structured_outputs: {"json": ...}` only from 0.12 on.
  `{"type": "json_object"}` gives some JSON object, not the schema's. A constrained answer is
  `structured_answer`; an unconstrained one is the echo text, or with json_object `{"text": "<echo>"}`.
- Unknown request fields are ignored, as vLLM does (it only logs a warning): a wrong setting changes the
  answer, not the status.
- Length: prompt tokens (words) plus `max_tokens` past `max_model_len` is a 400 in vLLM's error shape;
  without `max_tokens` the answer runs on until the context is full (finish "length").
- Usage comes in a last chunk when `stream_options.include_usage` is set. `api_key` set: a bearer is required.
`seen` keeps every request body.
"""

from __future__ import annotations

import json
from typing import Any

from .fake_openai import echo_words, last_user
from .http_server import Reply, Request


class FakeVLLM:
    def __init__(self, version: str = "0.12.0", max_model_len: int = 2048, api_key: str | None = None,
                 structured_answer: dict[str, Any] | None = None):
        self.version = tuple(int(x) for x in version.split(".")[:2])
        self.max_model_len = max_model_len
        self.api_key = api_key
        self.structured_answer = structured_answer if structured_answer is not None else {"better": "A", "reason": "safer"}
        self.seen: list[dict[str, Any]] = []

    def _error(self, reply: Reply, status: int, kind: str, message: str) -> None:
        reply.json(status, {"object": "error", "message": message, "type": kind, "param": None, "code": status})

    def __call__(self, request: Request, reply: Reply) -> None:
        if request.path.rstrip("/") != "/v1/chat/completions":
            self._error(reply, 404, "NotFoundError", f"no route {request.path}")
            return
        if self.api_key and request.headers.get("authorization") != f"Bearer {self.api_key}":
            reply.json(401, {"error": "Unauthorized"})
            return
        body = request.body
        self.seen.append(body)
        prompt_tokens = sum(len(m["content"].split()) for m in body["messages"])
        max_tokens = body.get("max_tokens") or body.get("max_completion_tokens")
        if max_tokens is not None and prompt_tokens + max_tokens > self.max_model_len:
            self._error(reply, 400, "BadRequestError",
                        f"This model's maximum context length is {self.max_model_len} tokens. However, you requested "
                        f"{prompt_tokens + max_tokens} tokens ({prompt_tokens} in the messages, {max_tokens} in the "
                        f"completion). Please reduce the length of the messages or completion.")
            return
        budget = max_tokens if max_tokens is not None else self.max_model_len - prompt_tokens
        pieces = self._pieces(body)
        if max_tokens is None:  # vLLM's default: generate until the context is full
            pieces = pieces + ["more "] * max(0, budget - len(pieces))
        finish = "length" if len(pieces) > budget or max_tokens is None else "stop"
        pieces = pieces[:budget]
        self._stream(body, reply, pieces, finish, prompt_tokens)

    def _schema(self, body: dict) -> dict | None:
        fmt = body.get("response_format") or {}
        if fmt.get("type") == "json_schema":
            return fmt["json_schema"]["schema"]
        if self.version < (0, 12) and "guided_json" in body:
            return body["guided_json"]
        if self.version >= (0, 12) and "json" in (body.get("structured_outputs") or {}):
            return body["structured_outputs"]["json"]
        return None

    def _pieces(self, body: dict) -> list[str]:
        if self._schema(body) is not None:
            text = json.dumps(self.structured_answer)
        elif (body.get("response_format") or {}).get("type") == "json_object":
            text = json.dumps({"text": "".join(echo_words(last_user(body)))})
        else:
            return echo_words(last_user(body))
        return [text[i:i + 7] for i in range(0, len(text), 7)]

    def _stream(self, body: dict, reply: Reply, pieces: list[str], finish: str, prompt_tokens: int) -> None:
        model = body["model"]

        def chunk(delta: dict, finish_reason: str | None = None) -> dict:
            return {"id": "chatcmpl-vllm", "object": "chat.completion.chunk", "created": 0, "model": model,
                    "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}]}

        reply.start_stream()
        reply.event(chunk({"role": "assistant", "content": ""}))
        for piece in pieces:
            reply.event(chunk({"content": piece}))
        reply.event(chunk({"content": ""}, finish))
        if (body.get("stream_options") or {}).get("include_usage"):
            reply.event({"id": "chatcmpl-vllm", "object": "chat.completion.chunk", "created": 0, "model": model,
                         "choices": [], "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": len(pieces),
                                                  "total_tokens": prompt_tokens + len(pieces)}})
        reply.event("[DONE]")
        reply.end_stream()

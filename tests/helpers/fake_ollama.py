"""A fake Ollama server: /api/tags, /api/show and a streamed /api/chat (newline-delimited JSON), with faults.

It keeps Ollama's context rule, the one that matters here: a request without `options.num_ctx` runs with the
server's default window (`default_ctx`: 2048 in older releases, 4096 in newer), and a prompt longer than the
window is cut from the front; `prompt_eval_count` then shows the cut. Tokens are words (whitespace-split) of
every message, so a test knows a prompt's length exactly. `evaluated` keeps, per chat request, the prompt
tokens the model really read; `loads` counts model (re)loads, which Ollama does whenever num_ctx changes.

Answers are "echo: <last user message>", one word per line; `num_predict` cuts them (done_reason "length").
With a JSON-schema `format`, the answer is `structured_answer` as JSON text. `plan(prompt, attempt)` names a
fault: "429" (with `retry_headers`), "500", "503" (Ollama's "server busy"), "slow", "stall", "refuse",
"drop", "error_line" (an error object mid-stream), "400" (a message echoing the bearer token).
"""

from __future__ import annotations

import json
from typing import Any, Callable

from .fake_openai import echo_words, last_user
from .http_server import FaultPlan, Reply, Request

DIGEST = "a8b0c51577010a279d933d14c2a8ab4b268079d44c5c8830c0a93900f1827c67"


class FakeOllama(FaultPlan):
    def __init__(self, models: dict[str, str] | None = None, default_ctx: int = 2048, context_length: int = 32768,
                 key: str | None = None, plan: Callable[[str, int], str | None] | None = None,
                 structured_answer: dict[str, Any] | None = None, slow_s: float = 2.0,
                 retry_headers: dict[str, str] | None = None):
        self.models = models if models is not None else {"qwen2.5:0.5b": DIGEST}
        self.default_ctx = default_ctx
        self.context_length = context_length
        self.key = key
        FaultPlan.__init__(self, plan, slow_s, retry_headers, {"Retry-After": "1"})
        self.structured_answer = structured_answer if structured_answer is not None else {"best": "A", "reason": "clearer"}
        self.evaluated: list[list[str]] = []
        self.loads = 0
        self._loaded_ctx: int | None = None

    def _known(self, name: str) -> str | None:
        for candidate in (name, name + ":latest"):
            if candidate in self.models:
                return candidate
        return None

    def __call__(self, request: Request, reply: Reply) -> None:
        given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        if self.key is not None and given != self.key:
            reply.json(401, {"error": "unauthorized"})
            return
        path = request.path.rstrip("/")
        if request.method == "GET" and path == "/api/tags":
            reply.json(200, {"models": [{"name": n, "model": n, "modified_at": "2025-01-01T00:00:00Z", "size": 397821319,
                                         "digest": d, "details": {"format": "gguf", "family": "qwen2"}}
                                        for n, d in self.models.items()]})
        elif request.method == "POST" and path == "/api/show":
            if self._known(request.body.get("model", "")) is None:
                reply.json(404, {"error": f"model '{request.body.get('model')}' not found"})
                return
            reply.json(200, {"details": {"family": "qwen2"}, "model_info": {
                "general.architecture": "qwen2", "qwen2.context_length": self.context_length}})
        elif request.method == "POST" and path == "/api/chat":
            self._chat(request, reply, given)
        else:
            reply.json(404, {"error": "404 page not found"})

    def _chat(self, request: Request, reply: Reply, given: str) -> None:
        body = request.body
        if self._known(body.get("model", "")) is None:
            reply.json(404, {"error": f"model \"{body.get('model')}\" not found, try pulling it first"})
            return
        prompt = last_user(body)
        fault = self.next_fault(prompt)
        if fault == "429":
            reply.json(429, {"error": "too many requests"}, headers=self.retry_headers)
            return
        if fault in ("500", "503"):
            message = "server busy, please try again.  maximum pending requests exceeded" if fault == "503" \
                else "llama runner process has terminated: exit status 2"
            reply.json(int(fault), {"error": message})
            return
        if fault == "400":
            reply.json(400, {"error": f"invalid options for token {given}"})
            return
        if self.transport_fault(fault, reply):
            return
        options = body.get("options") or {}
        num_ctx = options.get("num_ctx") or self.default_ctx
        tokens = [word for m in body["messages"] for word in m["content"].split()]
        seen = tokens[-num_ctx:] if len(tokens) > num_ctx else tokens  # Ollama cuts the front
        with self._lock:
            self.evaluated.append(seen)
            if num_ctx != self._loaded_ctx:
                self.loads += 1
                self._loaded_ctx = num_ctx
        self._answer(body, reply, fault, len(seen))

    def _answer(self, body: dict, reply: Reply, fault: str | None, prompt_eval_count: int) -> None:
        model = body["model"]
        limit = (body.get("options") or {}).get("num_predict", -1)
        if isinstance(body.get("format"), dict):
            text = json.dumps(self.structured_answer)
            pieces = [text[i:i + 7] for i in range(0, len(text), 7)]
            reason = "stop"
        else:
            words = echo_words(last_user(body))
            pieces = words if limit is None or limit < 0 else words[:limit]
            reason = "stop" if len(pieces) == len(words) else "length"
        reply.start_stream("application/x-ndjson")
        for i, piece in enumerate(pieces):
            if i == 1 and fault == "drop":
                reply.drop()
                return
            if i == 1 and fault == "stall":
                reply.stall(self.slow_s)
            if i == 1 and fault == "error_line":
                reply.json_line({"error": "an error was encountered while running the model: unexpected EOF"})
                reply.end_stream()
                return
            reply.json_line({"model": model, "created_at": "2025-01-01T00:00:00Z",
                             "message": {"role": "assistant", "content": piece}, "done": False})
        reply.json_line({"model": model, "created_at": "2025-01-01T00:00:01Z",
                         "message": {"role": "assistant", "content": ""}, "done": True, "done_reason": reason,
                         "total_duration": 123456789, "load_duration": 1234567,
                         "prompt_eval_count": prompt_eval_count, "prompt_eval_duration": 2345678,
                         "eval_count": len(pieces), "eval_duration": 3456789})
        reply.end_stream()

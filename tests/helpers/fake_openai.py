"""A fake OpenAI chat-completions endpoint with scripted faults.

It answers "echo: <last user message>" one word per streamed chunk, so a test can tell that every answer
belongs to its own question. `plan(prompt, attempt)` names the fault for an attempt (None: answer):
  "429"     429 with the `retry_headers` (Retry-After and friends)
  "500"     a server error
  "slow"    no response for `slow_s` (past the client's timeout), then the answer
  "stall"   the stream starts, then pauses `slow_s` mid-answer
  "refuse"  the connection closes before any response
  "drop"    the stream starts, then the connection is cut mid-answer
  "400"     a rejected request whose message echoes the key it was sent (servers do this)
"""

from __future__ import annotations

from typing import Callable

from .http_server import FaultPlan, Reply, Request

Plan = Callable[[str, int], "str | None"]


def last_user(body: dict) -> str:
    return next((m["content"] for m in reversed(body.get("messages", [])) if m["role"] == "user"), "")


def echo_words(prompt: str) -> list[str]:
    words = ("echo: " + prompt).split(" ")
    return [w + " " for w in words[:-1]] + [words[-1]]


class FakeOpenAI(FaultPlan):
    def __init__(self, key: str = "sk-test", plan: Plan | None = None, slow_s: float = 2.0,
                 retry_headers: dict[str, str] | None = None):
        self.key = key
        FaultPlan.__init__(self, plan, slow_s, retry_headers, {"Retry-After": "1"})

    def __call__(self, request: Request, reply: Reply) -> None:
        if not request.path.rstrip("/").endswith("/chat/completions"):
            reply.json(404, {"error": {"message": f"no route {request.path}", "type": "not_found"}})
            return
        given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        if given != self.key:
            reply.json(401, {"error": {"message": f"Incorrect API key provided: {given}.",
                                       "type": "invalid_request_error", "code": "invalid_api_key"}})
            return
        body = request.body
        prompt = last_user(body)
        fault = self.next_fault(prompt)
        if fault == "429":
            reply.json(429, {"error": {"message": "Rate limit reached", "type": "rate_limit_error"}},
                       headers=self.retry_headers)
            return
        if fault == "500":
            reply.json(500, {"error": {"message": "The server had an error", "type": "server_error"}})
            return
        if fault == "400":
            reply.json(400, {"error": {"message": f"Bad request from key {given}: 'messages' is malformed",
                                       "type": "invalid_request_error"}})
            return
        if self.transport_fault(fault, reply):
            return
        self._answer(body, reply, fault)

    def _answer(self, body: dict, reply: Reply, fault: str | None) -> None:
        words = echo_words(last_user(body))
        limit = body.get("max_tokens") or body.get("max_completion_tokens") or len(words)
        pieces = words[:limit]
        self._stream(body, reply, pieces, "length" if len(pieces) < len(words) else "stop", fault)

    def _stream(self, body: dict, reply: Reply, pieces: list[str], finish: str, fault: str | None = None,
                usage: bool | None = None) -> None:
        """The pieces as chat-completion chunks; the usage chunk when asked (`stream_options.include_usage`,
        or `usage=True`)."""
        model = body.get("model", "fake")

        def chunk(delta: dict, finish_reason: str | None = None) -> dict:
            return {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 0, "model": model,
                    "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}]}

        reply.start_stream()
        reply.event(chunk({"role": "assistant", "content": ""}))
        for i, piece in enumerate(pieces):
            if i == 1 and fault == "drop":
                reply.drop()
                return
            if i == 1 and fault == "stall":
                reply.stall(self.slow_s)
            reply.event(chunk({"content": piece}))
        reply.event(chunk({}, finish))
        if usage or (usage is None and (body.get("stream_options") or {}).get("include_usage")):
            prompt_tokens = sum(len(m["content"].split()) for m in body["messages"])
            reply.event({"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 0, "model": model,
                         "choices": [], "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": len(pieces),
                                                  "total_tokens": prompt_tokens + len(pieces)}})
        reply.event("[DONE]")
        reply.end_stream()

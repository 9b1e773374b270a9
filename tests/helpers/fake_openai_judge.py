"""A fake OpenAI chat-completions endpoint that judges: it answers each structured request with the verdict the
mock adapter's policies give (harness.adapters.mock), streamed a word per chunk with usage, so a suite can have
an openai-kind judge with prices against a local server."""

from __future__ import annotations

from harness.adapters.mock import MockAdapter, MockOptions

from .fake_openai import FakeOpenAI
from .http_server import Reply


class FakeOpenAIJudge(FakeOpenAI):
    def __init__(self, key: str = "sk-test", **policies):
        super().__init__(key=key)
        self.judge = MockAdapter("fake-judge", MockOptions(**policies))

    def _answer(self, body: dict, reply: Reply, fault: str | None) -> None:
        response_format = body.get("response_format") or {}
        schema = (response_format.get("json_schema") or {}).get("schema") or response_format.get("schema")
        text = self.judge._answer(body["messages"], schema)
        words = text.split(" ")
        pieces = [w + " " for w in words[:-1]] + [words[-1]]
        model = body.get("model", "fake")

        def chunk(delta: dict, finish_reason: str | None = None) -> dict:
            return {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 0, "model": model,
                    "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}]}

        reply.start_stream()
        reply.event(chunk({"role": "assistant", "content": ""}))
        for piece in pieces:
            reply.event(chunk({"content": piece}))
        reply.event(chunk({}, "stop"))
        prompt_tokens = sum(len(m["content"].split()) for m in body["messages"])
        reply.event({"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 0, "model": model,
                     "choices": [], "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": len(pieces),
                                              "total_tokens": prompt_tokens + len(pieces)}})
        reply.event("[DONE]")
        reply.end_stream()

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
        self._stream(body, reply, [w + " " for w in words[:-1]] + [words[-1]], "stop", usage=True)

"""A fake Gemini API (generativelanguage) endpoint: streamGenerateContent as server-sent events, with faults.

Text answers are "echo: <last user text>", one word per chunk; `maxOutputTokens` cuts them (finishReason
MAX_TOKENS). With `responseMimeType: application/json` and a `responseJsonSchema` the answer is
`structured_answer` as JSON text, streamed in pieces. Usage metadata comes in the last chunk, counted in words;
`thoughts` adds that many thought tokens, as thinking models report them. A wrong key gets what the real API
sends: 400 INVALID_ARGUMENT with reason API_KEY_INVALID. `plan(prompt, attempt)` names a fault:
  "429"      RESOURCE_EXHAUSTED with a RetryInfo detail (`retry_delay`) and the `retry_headers`
  "500"      INTERNAL;  "503" UNAVAILABLE
  "slow"     no response for `slow_s`, then the answer;  "stall" a pause of `slow_s` mid-answer
  "refuse"   the connection closes before any response;  "drop" the connection cut mid-answer
  "error_chunk"  an error object inside a stream that started with 200
  "cut_json" the body ends cleanly in the middle of an event's JSON
  "400"      INVALID_ARGUMENT whose message echoes the key;  "403" PERMISSION_DENIED
  "blocked"  the prompt refused: promptFeedback.blockReason SAFETY and no candidate
"""

from __future__ import annotations

import json
import re
from typing import Any, Callable

from .fake_openai import echo_words
from .http_server import FaultPlan, Reply, Request

ROUTE = re.compile(r"^/(v1|v1beta)/models/([^/:]+):streamGenerateContent")


def google_error(code: int, status: str, message: str, details: list[dict] | None = None) -> dict:
    return {"error": {"code": code, "message": message, "status": status, **({"details": details} if details else {})}}


def last_user_text(body: dict) -> str:
    for content in reversed(body.get("contents", [])):
        if content.get("role", "user") == "user":
            return "".join(part.get("text", "") for part in content.get("parts", []))
    return ""


class FakeGemini(FaultPlan):
    def __init__(self, key: str = "gm-test", plan: Callable[[str, int], str | None] | None = None,
                 structured_answer: dict[str, Any] | None = None, thoughts: int = 0, slow_s: float = 2.0,
                 retry_delay: str = "1s", retry_headers: dict[str, str] | None = None):
        self.key = key
        FaultPlan.__init__(self, plan, slow_s, retry_headers, {})
        self.structured_answer = structured_answer if structured_answer is not None else {"best": "A", "reason": "clearer"}
        self.thoughts = thoughts
        self.retry_delay = retry_delay

    def __call__(self, request: Request, reply: Reply) -> None:
        route = ROUTE.match(request.path)
        if request.method != "POST" or route is None or route.group(2) == "missing-model":
            name = route.group(2) if route else request.path
            reply.json(404, google_error(404, "NOT_FOUND", f"models/{name} is not found for API version v1"))
            return
        given = request.headers.get("x-goog-api-key", "")
        if given != self.key:
            reply.json(400, google_error(400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.",
                                         [{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                                           "reason": "API_KEY_INVALID", "domain": "googleapis.com"}]))
            return
        body = request.body
        prompt = last_user_text(body)
        fault = self.next_fault(prompt)
        if fault == "429":
            reply.json(429, google_error(429, "RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota).",
                                         [{"@type": "type.googleapis.com/google.rpc.RetryInfo",
                                           "retryDelay": self.retry_delay}]), headers=self.retry_headers)
        elif fault in ("500", "503"):
            status = {"500": "INTERNAL", "503": "UNAVAILABLE"}[fault]
            reply.json(int(fault), google_error(int(fault), status, "An internal error has occurred."))
        elif fault == "400":
            reply.json(400, google_error(400, "INVALID_ARGUMENT", f"Request from key {given} has an invalid field"))
        elif fault == "403":
            reply.json(403, google_error(403, "PERMISSION_DENIED", "The caller does not have permission"))
        elif not self.transport_fault(fault, reply):
            self._answer(route.group(2), body, reply, fault)

    def _answer(self, model: str, body: dict, reply: Reply, fault: str | None) -> None:
        config = body.get("generationConfig", {})
        system = "".join(p.get("text", "") for p in (body.get("systemInstruction") or {}).get("parts", []))
        prompt_tokens = sum(len(p.get("text", "").split()) for c in body.get("contents", []) for p in c["parts"])
        prompt_tokens += len(system.split())
        reply.start_stream()
        if fault == "blocked":
            reply.event({"promptFeedback": {"blockReason": "SAFETY"},
                         "usageMetadata": {"promptTokenCount": prompt_tokens, "totalTokenCount": prompt_tokens},
                         "modelVersion": model})
            reply.end_stream()
            return
        if config.get("responseMimeType") == "application/json" and "responseJsonSchema" in config:
            text = json.dumps(self.structured_answer)
            pieces = [text[i:i + 7] for i in range(0, len(text), 7)]
            finish = "STOP"
        else:
            words = echo_words(last_user_text(body))
            pieces = words[: config.get("maxOutputTokens", len(words))]
            finish = "STOP" if len(pieces) == len(words) else "MAX_TOKENS"
        for i, piece in enumerate(pieces):
            if i == 1 and fault == "drop":
                reply.drop()
                return
            if i == 1 and fault == "stall":
                reply.stall(self.slow_s)
            if i == 1 and fault == "cut_json":  # a proxy that ends the body in the middle of an event
                reply.chunk(b'data: {"candidates": [{"content": {"ro\r\n\r\n')
                reply.end_stream()
                return
            if i == 1 and fault == "error_chunk":
                reply.event(google_error(503, "UNAVAILABLE", "The model is overloaded. Please try again later."))
                reply.end_stream()
                return
            chunk: dict[str, Any] = {"candidates": [{"content": {"role": "model", "parts": [{"text": piece}]},
                                                     "index": 0}], "modelVersion": model}
            if i == len(pieces) - 1:
                chunk["candidates"][0]["finishReason"] = finish
                usage = {"promptTokenCount": prompt_tokens, "candidatesTokenCount": len(pieces),
                         "totalTokenCount": prompt_tokens + len(pieces) + self.thoughts}
                if self.thoughts:
                    usage["thoughtsTokenCount"] = self.thoughts
                chunk["usageMetadata"] = usage
            reply.event(chunk)
        reply.end_stream()

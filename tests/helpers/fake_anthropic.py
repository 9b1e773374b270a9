"""A fake Anthropic Messages API endpoint: the real streaming event shapes, text and tool use, and faults.

Text answers are "echo: <last user message>", one word per `content_block_delta`. When the request forces a
tool, the answer is the tool input `tool_input` streamed as `input_json_delta` pieces. `plan(prompt, attempt)`
names a fault: "429", "500", "529" (overloaded), "overloaded_event" (an `error` event inside a 200 stream),
"slow" (no response for `slow_s`), "stall" (a pause of `slow_s` mid-answer), "refuse" (the connection closed
before any response), "drop" (the connection cut mid-answer), "400" (a message echoing the key it was sent).
"""

from __future__ import annotations

import json
from typing import Any, Callable

from .fake_openai import echo_words, last_user
from .http_server import FaultPlan, Reply, Request


class FakeAnthropic(FaultPlan):
    def __init__(self, key: str = "sk-ant-test", plan: Callable[[str, int], str | None] | None = None,
                 tool_input: dict[str, Any] | None = None, retry_headers: dict[str, str] | None = None,
                 slow_s: float = 2.0):
        self.key = key
        FaultPlan.__init__(self, plan, slow_s, retry_headers, {"retry-after": "1"})
        self.tool_input = tool_input if tool_input is not None else {"best": "A", "reason": "clearer"}

    def __call__(self, request: Request, reply: Reply) -> None:
        if request.path.rstrip("/") != "/v1/messages":
            reply.json(404, {"type": "error", "error": {"type": "not_found_error", "message": request.path}})
            return
        # The API takes the key as x-api-key; newer SDK releases send it as a bearer token instead.
        given = request.headers.get("x-api-key") or request.headers.get("authorization", "").removeprefix("Bearer ")
        if given != self.key:
            reply.json(401, {"type": "error", "error": {"type": "authentication_error",
                                                        "message": "invalid x-api-key"}})
            return
        body = request.body
        prompt = last_user(body)
        fault = self.next_fault(prompt)
        if fault == "429":
            reply.json(429, {"type": "error", "error": {"type": "rate_limit_error", "message": "slow down"}},
                       headers=self.retry_headers)
            return
        if fault == "529":
            reply.json(529, {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})
            return
        if fault == "400":
            reply.json(400, {"type": "error", "error": {"type": "invalid_request_error",
                                                        "message": f"key {given} cannot use this model"}})
            return
        if fault == "500":
            reply.json(500, {"type": "error", "error": {"type": "api_error", "message": "Internal server error"}})
            return
        if self.transport_fault(fault, reply):
            return
        self._answer(body, reply, fault)

    def _answer(self, body: dict, reply: Reply, fault: str | None) -> None:
        forced = (body.get("tool_choice") or {}).get("type") == "tool"
        words = [m["content"] for m in body["messages"]] + [body.get("system") or ""]
        input_tokens = sum(len(text.split()) for text in words)
        reply.start_stream()
        reply.event({"type": "message_start", "message": {
            "id": "msg_fake", "type": "message", "role": "assistant", "model": body["model"], "content": [],
            "stop_reason": None, "stop_sequence": None,
            "usage": {"input_tokens": input_tokens, "output_tokens": 1}}}, "message_start")
        if forced:
            name = body["tool_choice"]["name"]
            text = json.dumps(self.tool_input)
            pieces = [text[i:i + 7] for i in range(0, len(text), 7)]
            reply.event({"type": "content_block_start", "index": 0,
                         "content_block": {"type": "tool_use", "id": "toolu_fake", "name": name, "input": {}}},
                        "content_block_start")
            deltas = [{"type": "input_json_delta", "partial_json": p} for p in [""] + pieces]
            stop_reason = "tool_use"
        else:
            words = echo_words(last_user(body))[: body["max_tokens"]]
            pieces = words
            reply.event({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
                        "content_block_start")
            deltas = [{"type": "text_delta", "text": w} for w in words]
            stop_reason = "end_turn" if len(words) == len(echo_words(last_user(body))) else "max_tokens"
        reply.event({"type": "ping"}, "ping")
        for i, delta in enumerate(deltas):
            if i == 2 and fault == "stall":
                reply.stall(self.slow_s)
            if i == 2 and fault == "drop":
                reply.drop()
                return
            if i == 2 and fault == "overloaded_event":
                reply.event({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
                            "error")
                reply.end_stream()
                return
            reply.event({"type": "content_block_delta", "index": 0, "delta": delta}, "content_block_delta")
        reply.event({"type": "content_block_stop", "index": 0}, "content_block_stop")
        reply.event({"type": "message_delta", "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                     "usage": {"output_tokens": len(pieces)}}, "message_delta")
        reply.event({"type": "message_stop"}, "message_stop")
        reply.end_stream()

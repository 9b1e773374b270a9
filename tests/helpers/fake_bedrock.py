"""A fake Amazon Bedrock Runtime endpoint: ConverseStream answered in the AWS event-stream binary framing.

Each event is one message: a prelude (total length and headers length, big-endian uint32) and its CRC32, the
headers (name length byte, name, value type 7 = string, value length uint16, value), the JSON payload, and
a CRC32 of everything before it. `encode_message` builds one; the tests check that botocore's own parser
reads it back.

Requests must be SigV4-signed with the access key id `access_key_id` (the signature itself is not checked:
the secret never leaves the client). Text answers are "echo: <last user text>", one word per
`contentBlockDelta`; `maxTokens` cuts them (stopReason max_tokens). A forced tool (`toolChoice.tool`) makes the
answer `structured_answer`, streamed as the tool's input JSON. The `metadata` event carries usage in words.
`plan(prompt, attempt)` names a fault:
  "429"  ThrottlingException (with `retry_headers`);  "500" InternalServerException;  "503" ServiceUnavailable
  "slow", "stall", "refuse", "drop"  as in the other fakes
  "throttle_event"  a throttlingException inside a stream that started with 200
  "bad_crc"  a frame whose message CRC does not match
  "400"  ValidationException;  "403" AccessDeniedException;  "404" ResourceNotFoundException
"""

from __future__ import annotations

import json
import re
import zlib
from typing import Any, Callable
from urllib.parse import unquote

from .fake_openai import echo_words
from .http_server import FaultPlan, Reply, Request

ROUTE = re.compile(r"^/model/(.+)/converse-stream$")
ERRORS = {"429": (429, "ThrottlingException", "Too many requests, please wait before trying again."),
          "500": (500, "InternalServerException", "The server encountered an internal error."),
          "503": (503, "ServiceUnavailableException", "The service is unavailable. Try again later."),
          "400": (400, "ValidationException", "The provided request is not valid: maxTokens out of range"),
          "403": (403, "AccessDeniedException", "You don't have access to the model with the specified model ID."),
          "404": (404, "ResourceNotFoundException", "Could not resolve the foundation model from the model identifier.")}


def encode_message(headers: dict[str, str], payload: bytes) -> bytes:
    encoded = b""
    for name, value in headers.items():
        raw_name, raw_value = name.encode(), value.encode()
        encoded += bytes([len(raw_name)]) + raw_name + b"\x07" + len(raw_value).to_bytes(2, "big") + raw_value
    total = 4 + 4 + 4 + len(encoded) + len(payload) + 4
    prelude = total.to_bytes(4, "big") + len(encoded).to_bytes(4, "big")
    message = prelude + zlib.crc32(prelude).to_bytes(4, "big") + encoded + payload
    return message + zlib.crc32(message).to_bytes(4, "big")


def event(event_type: str, body: dict[str, Any]) -> bytes:
    return encode_message({":event-type": event_type, ":content-type": "application/json", ":message-type": "event"},
                          json.dumps(body).encode())


def exception_event(exception_type: str, message: str) -> bytes:
    return encode_message({":exception-type": exception_type, ":content-type": "application/json",
                           ":message-type": "exception"}, json.dumps({"message": message}).encode())


def last_user_text(body: dict) -> str:
    for message in reversed(body.get("messages", [])):
        if message.get("role") == "user":
            return "".join(block.get("text", "") for block in message.get("content", []))
    return ""


class FakeBedrock(FaultPlan):
    def __init__(self, access_key_id: str = "AKIATESTFAKE00000001", plan: Callable[[str, int], str | None] | None = None,
                 structured_answer: dict[str, Any] | None = None, slow_s: float = 2.0,
                 retry_headers: dict[str, str] | None = None):
        self.access_key_id = access_key_id
        FaultPlan.__init__(self, plan, slow_s, retry_headers, {"Retry-After": "1"})
        self.structured_answer = structured_answer if structured_answer is not None else {"best": "A", "reason": "clearer"}
        self.model_ids: list[str] = []

    def _error(self, reply: Reply, status: int, code: str, message: str, headers: dict[str, str] | None = None):
        reply.json(status, {"message": message},
                   headers={"x-amzn-ErrorType": f"{code}:http://internal.amazon.com/coral/com.amazon.bedrock/",
                            "x-amzn-RequestId": "00000000-0000-0000-0000-000000000000", **(headers or {})})

    def __call__(self, request: Request, reply: Reply) -> None:
        route = ROUTE.match(request.path)
        if request.method != "POST" or route is None:
            self._error(reply, 404, "UnknownOperationException", f"no operation at {request.path}")
            return
        auth = request.headers.get("authorization", "")
        if f"Credential={self.access_key_id}/" not in auth:
            self._error(reply, 403, "UnrecognizedClientException", "The security token included in the request is invalid.")
            return
        body = request.body
        prompt = last_user_text(body)
        with self._lock:
            self.model_ids.append(unquote(route.group(1)))
        fault = self.next_fault(prompt)
        if fault in ERRORS:
            status, code, message = ERRORS[fault]
            self._error(reply, status, code, message, self.retry_headers if fault == "429" else None)
            return
        if self.transport_fault(fault, reply):
            return
        self._answer(body, reply, fault)

    def _answer(self, body: dict, reply: Reply, fault: str | None) -> None:
        config = body.get("inferenceConfig") or {}
        input_tokens = sum(len(block.get("text", "").split()) for m in body.get("messages", []) for block in m["content"])
        input_tokens += sum(len(block.get("text", "").split()) for block in body.get("system", []))
        forced = ((body.get("toolConfig") or {}).get("toolChoice") or {}).get("tool")
        reply.start_stream("application/vnd.amazon.eventstream", headers={"x-amzn-RequestId": "fake-request"})
        reply.chunk(event("messageStart", {"role": "assistant"}))
        if forced:
            text = json.dumps(self.structured_answer)
            pieces = [text[i:i + 7] for i in range(0, len(text), 7)]
            reply.chunk(event("contentBlockStart", {"contentBlockIndex": 0, "start": {
                "toolUse": {"toolUseId": "tooluse_fake", "name": forced["name"]}}}))
            deltas = [{"toolUse": {"input": piece}} for piece in pieces]
            stop_reason = "tool_use"
        else:
            words = echo_words(last_user_text(body))
            pieces = words[: config.get("maxTokens", len(words))]
            deltas = [{"text": piece} for piece in pieces]
            stop_reason = "end_turn" if len(pieces) == len(words) else "max_tokens"
        for i, delta in enumerate(deltas):
            if i == 1 and fault == "drop":
                reply.drop()
                return
            if i == 1 and fault == "stall":
                reply.stall(self.slow_s)
            if i == 1 and fault == "bad_crc":  # a frame damaged on the way
                frame = bytearray(event("contentBlockDelta", {"contentBlockIndex": 0, "delta": delta}))
                frame[-5] ^= 0xFF
                reply.chunk(bytes(frame))
                reply.end_stream()
                return
            if i == 1 and fault == "throttle_event":
                reply.chunk(exception_event("throttlingException", "Too many tokens, please wait before trying again."))
                reply.end_stream()
                return
            reply.chunk(event("contentBlockDelta", {"contentBlockIndex": 0, "delta": delta}))
        reply.chunk(event("contentBlockStop", {"contentBlockIndex": 0}))
        reply.chunk(event("messageStop", {"stopReason": stop_reason}))
        reply.chunk(event("metadata", {"usage": {"inputTokens": input_tokens, "outputTokens": len(pieces),
                                                 "totalTokens": input_tokens + len(pieces)},
                                       "metrics": {"latencyMs": 42}}))
        reply.end_stream()

"""An OpenAI-compatible chat-completions stub for the fan-out benchmark: every request is answered after a
fixed delay, streamed as a few server-sent events with a usage chunk, like a real server that is never the
bottleneck. asyncio, so a thousand open requests cost it nothing; run it in its own process so it does not
share a GIL with the client being measured:

    python benchmarks/openai_stub.py --delay 0.25     # prints the port on its first line, serves until killed

It counts requests in flight and prints the peak on exit (SIGTERM).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys

WORDS = ["The", " answer", " is", " ready", "."]


class Stub:
    def __init__(self, delay_s: float):
        self.delay_s = delay_s
        self.in_flight = 0
        self.peak = 0
        self.served = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:  # HTTP/1.1 keep-alive: one request after another on the connection
                head = await reader.readuntil(b"\r\n\r\n")
                headers = dict(line.split(": ", 1) for line in head.decode("latin-1").split("\r\n")[1:] if ": " in line)
                length = int(next((v for k, v in headers.items() if k.lower() == "content-length"), "0"))
                body = json.loads(await reader.readexactly(length)) if length else {}
                self.in_flight += 1
                self.peak = max(self.peak, self.in_flight)
                try:
                    await asyncio.sleep(self.delay_s)
                    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                                 b"Transfer-Encoding: chunked\r\n\r\n")
                    for event in self._events(body.get("model", "stub")):
                        payload = f"data: {event}\n\n".encode()
                        writer.write(f"{len(payload):x}\r\n".encode() + payload + b"\r\n")
                    writer.write(b"0\r\n\r\n")
                    await writer.drain()
                finally:
                    self.in_flight -= 1
                    self.served += 1
        except (asyncio.IncompleteReadError, asyncio.CancelledError, ConnectionError):
            pass  # the client closed the connection, or the stub is stopping
        finally:
            writer.close()

    @staticmethod
    def _events(model: str):
        base = {"id": "chatcmpl-stub", "object": "chat.completion.chunk", "created": 0, "model": model}
        for i, word in enumerate(WORDS):
            delta = {"role": "assistant", "content": word} if i == 0 else {"content": word}
            yield json.dumps({**base, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]})
        yield json.dumps({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
        yield json.dumps({**base, "choices": [], "usage": {"prompt_tokens": 12, "completion_tokens": len(WORDS),
                                                           "total_tokens": 12 + len(WORDS)}})
        yield "[DONE]"


async def serve(delay_s: float) -> None:
    stub = Stub(delay_s)
    server = await asyncio.start_server(stub.handle, "127.0.0.1", 0, backlog=2048)
    print(server.sockets[0].getsockname()[1], flush=True)
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopped.set)
    async with server:
        await stopped.wait()
    print(json.dumps({"served": stub.served, "peak_in_flight": stub.peak}), flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delay", type=float, default=0.25, help="seconds before each answer (default 0.25)")
    asyncio.run(serve(parser.parse_args().delay))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""A fixed-JSON HTTP/1.1 server on an asyncio Protocol, for the benchmarks: cheap enough that the
client is what gets measured (not the sandbox, not a framework; the issue's figures came from
nginx). Keep-alive and pipelining; POST answers 201, others 200; every body is the same JSON,
which has what bench/flow.yaml captures and checks. A Protocol, not streams: no reader task per
connection, a quarter less CPU per request (0.165 -> 0.12 ms here), which matters when the
server shares two cores with `--jobs` workers.

    python bench/fixed_json_server.py PORT
"""

from __future__ import annotations

import asyncio
import sys

BODY = b'{"data":{"id":7,"token":"tok-7","items":[{"id":7,"sku":"A"}]},"meta":{}}'
HEAD = "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {length}\r\n\r\n"
ANSWERS = {
    method: HEAD.format(status=status, length=len(BODY)).encode() + BODY
    for method, status in ((b"POST", "201 Created"), (b"GET", "200 OK"), (b"PUT", "200 OK"))
}


class FixedJson(asyncio.Protocol):
    def __init__(self) -> None:
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        answers = []
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                break
            head = self.buffer[:end]
            length = 0
            at = head.lower().find(b"\r\ncontent-length:")
            if at >= 0:
                length = int(head[at + 17 :].split(b"\r\n", 1)[0])
            if len(self.buffer) < end + 4 + length:
                break  # the body is still coming
            self.buffer = self.buffer[end + 4 + length :]
            answers.append(ANSWERS.get(head.split(b" ", 1)[0], ANSWERS[b"GET"]))
        if answers and self.transport is not None:
            self.transport.write(b"".join(answers))


async def main(port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(FixedJson, "127.0.0.1", port, backlog=1024)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))

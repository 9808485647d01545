"""A fixed-JSON HTTP/1.1 server on raw asyncio, for the benchmarks: fast enough that the client
is what gets measured (not the sandbox, not a framework). Keep-alive; POST answers 201, others
200; every body is the same JSON, which has what bench/flow.yaml captures and checks.

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


async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            if length:
                await reader.readexactly(length)
            writer.write(ANSWERS.get(head.split(b" ", 1)[0], ANSWERS[b"GET"]))
    except (asyncio.IncompleteReadError, ConnectionError):
        writer.close()


async def main(port: int) -> None:
    server = await asyncio.start_server(serve, "127.0.0.1", port, backlog=1024)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))

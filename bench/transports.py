"""The HTTP stack alone, under httpx: the same requests as bench/by_hand.py over each transport.

Why apiflow sends through its own small transport (runner/engine/h11_transport.py): this compares,
per flow of eight requests on one reused connection, httpx's own transport (httpcore and anyio),
apiflow's h11 transport on asyncio streams, and the httpx-aiohttp transport (aiohttp's C parser),
when it is installed (`pip install httpx-aiohttp`; apiflow does not depend on it).

    .venv/bin/python bench/transports.py [--flows 200] [--repeat 5]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from by_hand import one_flow  # noqa: E402
from flow_overhead import start_server  # noqa: E402


def transports() -> dict[str, Callable[[], httpx.AsyncBaseTransport]]:
    from runner.engine.h11_transport import H11Transport

    found: dict[str, Callable[[], httpx.AsyncBaseTransport]] = {
        "httpx's own (httpcore + anyio)": httpx.AsyncHTTPTransport,
        "apiflow's h11 on asyncio": H11Transport,
    }
    try:
        from httpx_aiohttp import AiohttpTransport
    except ImportError:
        print("(httpx-aiohttp is not installed: pip install httpx-aiohttp to compare it too)")
    else:
        found["httpx-aiohttp (aiohttp)"] = AiohttpTransport
    return found


async def timed(make: Callable[[], httpx.AsyncBaseTransport], base: str, flows: int) -> tuple[float, float]:
    """Wall and CPU seconds per flow, after one flow to open the connection."""
    async with httpx.AsyncClient(transport=make()) as client:
        await one_flow(client, base)
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(flows):
            await one_flow(client, base)
        return (time.perf_counter() - wall) / flows, (time.process_time() - cpu) / flows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flows", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    server, base = start_server()
    try:
        found = transports()
        best: dict[str, tuple[float, float]] = {name: (1e9, 1e9) for name in found}
        for _ in range(args.repeat):  # interleaved: the machine's drift touches each alike
            for name, make in found.items():
                wall, cpu = asyncio.run(timed(make, base, args.flows))
                best[name] = (min(best[name][0], wall), min(best[name][1], cpu))
    finally:
        server.terminate()
        server.wait(timeout=10)
    print(f"per flow of 8 requests ({args.flows} flows, best of {args.repeat}), wall and CPU of this process")
    for name, (wall, cpu) in best.items():
        print(f"  {name:32} {wall * 1000:6.2f} ms   CPU {cpu * 1000:6.2f} ms")


if __name__ == "__main__":
    main()

"""A loopback HTTP server that speaks the OCR API with a known latency: the target of the
accuracy benchmark, the plugin-cost benchmark and the arrival-rate tests.

    python benchmarks/synthetic_server.py PORT [--median-ms 20 --sigma 0.5 --seed 1]
                                               [--stall-after 20 --stall-for 2]
    python benchmarks/synthetic_server.py PORT --service-ms 20 [--workers 1]

Each POST is answered after a delay drawn, in the order requests arrive, from a log-normal
distribution (median, sigma) seeded with --seed; 0 ms median answers at once. With --stall-after S
the server stalls S seconds after the first request for --stall-for seconds: nothing is answered
during the stall; requests that arrive in it are served after it. GET answers 200 at once (health).
`service_time()` is the same rule as a function, so the truth can be computed from the schedule.
With --service-ms, each POST instead queues for one of --workers workers and takes exactly that
long: a capacity of workers / service time known in advance, whatever the CPU (timers only).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import re
import time

BODY = b'{"lines": [{"text": "ok", "score": 0.99, "box": [[0, 0], [1, 0], [1, 1], [0, 1]]}], "timing_ms": {"total": 0.1}}'
RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " + str(len(BODY)).encode() + b"\r\n\r\n" + BODY
LENGTH = re.compile(rb"content-length:\s*(\d+)", re.IGNORECASE)


def delays(median_s: float, sigma: float, seed: int):
    """The delay of each request in arrival order."""
    rng = random.Random(seed)
    mu = math.log(median_s) if median_s > 0 else 0.0
    while True:
        yield rng.lognormvariate(mu, sigma) if median_s > 0 else 0.0


def service_time(t: float, delay: float, stall_start: float, stall_end: float) -> float:
    """Seconds from arrival `t` (after the first request) to the answer."""
    if stall_start <= t < stall_end:
        return stall_end - t + delay
    ready = t + delay
    if stall_start <= ready < stall_end:
        ready = stall_end
    return ready - t


class Server:
    def __init__(self, args: argparse.Namespace) -> None:
        self.delays = delays(args.median_ms / 1e3, args.sigma, args.seed)
        self.stall_after, self.stall_for = args.stall_after, args.stall_for
        self.first: float | None = None
        self.service_s = args.service_ms / 1e3 if args.service_ms else None
        self.free_at = [0.0] * args.workers  # when each worker is next free

    def wait_for(self) -> float:
        now = time.monotonic()
        if self.service_s is not None:  # a queue in front of fixed-time workers
            i = min(range(len(self.free_at)), key=self.free_at.__getitem__)
            self.free_at[i] = max(now, self.free_at[i]) + self.service_s
            return self.free_at[i] - now
        if self.first is None:
            self.first = now
        delay = next(self.delays)
        if self.stall_after is None:
            return delay
        start = self.stall_after
        return service_time(now - self.first, delay, start, start + self.stall_for)


class Handler(asyncio.Protocol):
    def __init__(self, server: Server) -> None:
        self.server = server
        self.buf = b""
        self.queue: asyncio.Queue = asyncio.Queue()

    def connection_made(self, transport) -> None:
        self.transport = transport
        self.writer = asyncio.get_running_loop().create_task(self._write())

    def connection_lost(self, exc) -> None:
        self.writer.cancel()

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while (end := self.buf.find(b"\r\n\r\n")) >= 0:
            match = LENGTH.search(self.buf, 0, end)
            total = end + 4 + (int(match.group(1)) if match else 0)
            if len(self.buf) < total:
                return
            is_post = self.buf.startswith(b"POST")
            self.buf = self.buf[total:]
            wait = self.server.wait_for() if is_post else 0.0
            if wait <= 0 and self.queue.empty():
                self.transport.write(RESPONSE)  # nothing to wait for: answer at once
            else:
                self.queue.put_nowait(time.monotonic() + wait)

    async def _write(self) -> None:
        while True:  # answers on one connection go out in order (HTTP/1.1 without pipelining surprises)
            due = await self.queue.get()
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            self.transport.write(RESPONSE)


async def main(args: argparse.Namespace) -> None:
    server = Server(args)
    listener = await asyncio.get_running_loop().create_server(lambda: Handler(server), "127.0.0.1", args.port)
    async with listener:
        await listener.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("port", type=int)
    parser.add_argument("--median-ms", type=float, default=0.0)
    parser.add_argument("--sigma", type=float, default=0.5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--stall-after", type=float, default=None)
    parser.add_argument("--stall-for", type=float, default=2.0)
    parser.add_argument("--service-ms", type=float, default=None, help="fixed service time per request, queued for --workers")
    parser.add_argument("--workers", type=int, default=1)
    asyncio.run(main(parser.parse_args()))

"""A trivial loopback HTTP server that answers every request with a fixed, valid OCR answer.

    python benchmarks/trivial_ocr_server.py PORT

Plain asyncio, keep-alive, no parsing beyond Content-Length: fast enough that one Locust process
(not the server) is the bottleneck, so the load generator's own costs can be compared.
"""

from __future__ import annotations

import asyncio
import re
import sys

BODY = b'{"lines": [{"text": "ok", "score": 0.99, "box": [[0, 0], [1, 0], [1, 1], [0, 1]]}], "timing_ms": {"total": 0.1}}'
RESPONSE = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " + str(len(BODY)).encode() + b"\r\n\r\n" + BODY
)
LENGTH = re.compile(rb"content-length:\s*(\d+)", re.IGNORECASE)


class Handler(asyncio.Protocol):
    def connection_made(self, transport) -> None:
        self.transport = transport
        self.buf = b""

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while (end := self.buf.find(b"\r\n\r\n")) >= 0:
            match = LENGTH.search(self.buf, 0, end)
            total = end + 4 + (int(match.group(1)) if match else 0)
            if len(self.buf) < total:
                return
            self.buf = self.buf[total:]
            self.transport.write(RESPONSE)


async def main(port: int) -> None:
    server = await asyncio.get_running_loop().create_server(Handler, "127.0.0.1", port)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))

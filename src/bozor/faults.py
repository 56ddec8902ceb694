"""Network faults on demand, for tests and benchmarks: a TCP proxy whose connections can be cut
and whose port can refuse new ones, in front of a real server (PostgreSQL, Redis, RabbitMQ)."""

from __future__ import annotations

import asyncio
import contextlib

from bozor.testing import free_port


class TcpProxy:
    """Forwards 127.0.0.1:`port` to `target_host`:`target_port` while up."""

    def __init__(self, target_host: str, target_port: int, port: int | None = None) -> None:
        self.target = (target_host, target_port)
        self.port = port or free_port()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def up(self) -> bool:
        return self._server is not None

    async def start(self) -> None:
        """Accept connections (again)."""
        if self._server is None:
            self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)

    async def cut(self) -> None:
        """Drop every open connection and refuse new ones until start()."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
        self.drop()
        if server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), timeout=2)

    def drop(self) -> None:
        """Drop every open connection (the port stays open): like a server restart."""
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    async def _serve(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            server_r, server_w = await asyncio.open_connection(*self.target)
        except OSError:
            client_w.transport.abort()
            return
        self._writers.update((client_w, server_w))
        await asyncio.gather(
            self._pipe(client_r, server_w), self._pipe(server_r, client_w), return_exceptions=True
        )
        self._writers.difference_update((client_w, server_w))

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.transport.abort()

    async def __aenter__(self) -> TcpProxy:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.cut()

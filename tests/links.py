"""A TCP link the tests can cut, freeze and restore: failure injection for the network and the database."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlsplit, urlunsplit


class CuttableLink:
    """A TCP proxy in front of the server whose connections can be cut, as a dropped network would."""

    def __init__(self, target: str) -> None:
        parts = urlsplit(target)
        self._target = (parts.hostname or "127.0.0.1", parts.port or 80)
        self._up = True
        self._writers: set[asyncio.StreamWriter] = set()
        self._links: set[asyncio.Task[Any]] = set()
        self._server: asyncio.Server | None = None
        self._flowing = asyncio.Event()
        self._flowing.set()
        self.url = ""
        self.accepted = 0
        """Connections accepted so far (a client that keeps its connection alive makes one)."""

    async def __aenter__(self) -> CuttableLink:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        self._flowing.set()  # a frozen pump must see the cut, not wait for ever
        self.cut()
        await asyncio.wait_for(asyncio.gather(*self._links, return_exceptions=True), 10)
        await self._server.wait_closed()

    def cut(self) -> None:
        """Drop every open connection and every new one until ``restore``."""
        self._up = False
        for writer in list(self._writers):
            writer.transport.abort()

    def restore(self) -> None:
        self._up = True

    def freeze(self) -> None:
        """Stop carrying anything, both ways, while every connection stays open (a silent link)."""
        self._flowing.clear()

    def thaw(self) -> None:
        self._flowing.set()

    async def _accept(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._links.add(task)
        self.accepted += 1
        try:
            if not self._up:
                return
            try:
                server_r, server_w = await asyncio.open_connection(*self._target)
            except OSError:
                return
            self._writers |= {client_w, server_w}
            try:
                await asyncio.gather(self._pump(client_r, server_w), self._pump(server_r, client_w))
            finally:
                self._writers -= {client_w, server_w}
                server_w.transport.abort()
        finally:
            client_w.transport.abort()
            self._links.discard(task)

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                await self._flowing.wait()  # a frozen link holds what it carries, as a dead switch would
                writer.write(data)
                await writer.drain()
            if writer.can_write_eof() and not writer.transport.is_closing():
                writer.write_eof()
        except OSError:  # the other side went away, or the link was cut
            writer.transport.abort()


def through(url: str, link: CuttableLink) -> str:
    """``url`` (a database's) with its host and port replaced by the link's."""
    parts = urlsplit(url)
    user = f"{parts.username}@" if parts.username else ""
    return urlunsplit(parts._replace(netloc=f"{user}127.0.0.1:{urlsplit(link.url).port}"))

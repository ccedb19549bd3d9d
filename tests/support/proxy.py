"""A TCP proxy that can go silent: a network partition without a closed socket.

While silenced it keeps every connection open and accepts new ones, but forwards no
byte (and no close) in either direction, as a path through a dead switch or a
dropped route does. It runs its own event loop in a thread, so it serves whatever
loop (or process) the code under test uses.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")


@dataclass
class SilentProxy:
    """Forwards 127.0.0.1:`port` to `target` (host, port), except while silenced."""

    target: tuple[str, int]
    port: int = 0
    _loop: asyncio.AbstractEventLoop = field(init=False, repr=False)
    _flowing: asyncio.Event = field(init=False, repr=False, default_factory=asyncio.Event)
    _tasks: set[asyncio.Task[None]] = field(init=False, repr=False, default_factory=set)

    @classmethod
    @contextmanager
    def running(cls, target: tuple[str, int]) -> Iterator[SilentProxy]:
        """The proxy, listening on a free loopback port until the block ends."""
        proxy = cls(target)
        proxy._loop = asyncio.new_event_loop()
        thread = threading.Thread(target=proxy._loop.run_forever, daemon=True)
        thread.start()
        try:
            server = proxy._call(proxy._listen())
            try:
                yield proxy
            finally:
                proxy._call(proxy._close(server))
        finally:
            proxy._loop.call_soon_threadsafe(proxy._loop.stop)
            thread.join(10)
            if not thread.is_alive():
                proxy._loop.close()

    def silence(self) -> None:
        """Stop forwarding: bytes in flight and new ones wait, every socket stays open."""
        self._call(self._set_flowing(False))

    def resume(self) -> None:
        """Forward again, what waited first."""
        self._call(self._set_flowing(True))

    def _call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(10)

    async def _set_flowing(self, flowing: bool) -> None:
        if flowing:
            self._flowing.set()
        else:
            self._flowing.clear()

    async def _listen(self) -> asyncio.Server:
        self._flowing.set()
        server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        return server

    async def _close(self, server: asyncio.Server) -> None:
        server.close()
        self._flowing.set()  # nothing may wait for a resume that will not come
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _accept(
        self, client_in: asyncio.StreamReader, client_out: asyncio.StreamWriter
    ) -> None:
        try:
            server_in, server_out = await asyncio.open_connection(*self.target)
        except OSError:
            client_out.close()  # the target is down: so is the path
            return
        for source, sink in ((client_in, server_out), (server_in, client_out)):
            self._track(asyncio.create_task(self._forward(source, sink)))

    def _track(self, task: asyncio.Task[None]) -> None:
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _forward(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        try:
            while data := await source.read(65536):
                await self._flowing.wait()
                sink.write(data)
                await sink.drain()
            await self._flowing.wait()  # a close is a packet too
        except ConnectionError:
            pass
        finally:
            sink.close()

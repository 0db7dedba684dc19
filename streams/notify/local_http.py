"""An aiohttp application served on 127.0.0.1 from its own thread and event loop.

For the stand-ins and receivers that benchmarks and tests run beside the code
they measure: a separate loop keeps their answers from waiting on the caller's
(which may be blocked polling them, or busy producing).
"""

from __future__ import annotations

import asyncio
import threading
from typing import Self

from aiohttp import web

from localkafka import free_port


class BackgroundHttpServer:
    def __init__(self, app: web.Application, port: int | None = None) -> None:
        self.app = app
        self.port = port if port is not None else free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def start(self, timeout: float = 10.0) -> Self:
        ready = threading.Event()

        def serve() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            runner = web.AppRunner(self.app, access_log=None)
            loop.run_until_complete(runner.setup())
            loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", self.port).start())
            ready.set()
            loop.run_forever()
            loop.run_until_complete(runner.cleanup())
            loop.close()

        self._thread = threading.Thread(target=serve, name=f"http-{self.port}", daemon=True)
        self._thread.start()
        if not ready.wait(timeout):
            raise RuntimeError(f"local HTTP server on port {self.port} did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)

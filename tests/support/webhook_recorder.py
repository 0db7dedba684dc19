"""A webhook receiver for tests: records every JSON notification posted to it, by path."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from aiohttp import web

from tests.support.broker import load_local_broker


class WebhookRecorder:
    """Answers 200 to every POST and keeps ``(path, body)``; own thread, 127.0.0.1."""

    def __init__(self) -> None:
        self.port = int(load_local_broker().free_port())
        self.url = f"http://127.0.0.1:{self.port}"
        self._received: list[tuple[str, Any]] = []
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def received(self, path: str | None = None) -> list[Any]:
        with self._lock:
            return [body for where, body in self._received if path is None or where == path]

    async def _record(self, request: web.Request) -> web.Response:
        body = await request.json()
        with self._lock:
            self._received.append((request.path, body))
        return web.json_response({"ok": True})

    def start(self) -> WebhookRecorder:
        ready = threading.Event()

        def serve() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            app = web.Application()
            app.router.add_post("/{path:.*}", self._record)
            runner = web.AppRunner(app, access_log=None)
            loop.run_until_complete(runner.setup())
            loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", self.port).start())
            ready.set()
            loop.run_forever()
            loop.run_until_complete(runner.cleanup())
            loop.close()

        self._thread = threading.Thread(target=serve, name="webhook-recorder", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise AssertionError("webhook recorder did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)


@contextmanager
def webhook_recorder() -> Iterator[WebhookRecorder]:
    recorder = WebhookRecorder().start()
    try:
        yield recorder
    finally:
        recorder.stop()

"""A webhook receiver for tests: records every JSON notification posted to it, by path."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from aiohttp import web

from streams.local_http import BackgroundHttpServer


class WebhookRecorder:
    """Answers 200 to every POST and keeps ``(path, body)``; own thread, 127.0.0.1."""

    def __init__(self) -> None:
        app = web.Application()
        app.router.add_post("/{path:.*}", self._record)
        self.server = BackgroundHttpServer(app)
        self.url = self.server.url
        self._received: list[tuple[str, Any]] = []
        self._lock = threading.Lock()

    def received(self, path: str | None = None) -> list[Any]:
        with self._lock:
            return [body for where, body in self._received if path is None or where == path]

    async def _record(self, request: web.Request) -> web.Response:
        body = await request.json()
        with self._lock:
            self._received.append((request.path, body))
        return web.json_response({"ok": True})


@contextmanager
def webhook_recorder() -> Iterator[WebhookRecorder]:
    recorder = WebhookRecorder()
    recorder.server.start()
    try:
        yield recorder
    finally:
        recorder.server.stop()

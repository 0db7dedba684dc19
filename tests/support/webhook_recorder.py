"""A webhook receiver for tests: records every JSON notification posted to it, by path."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from aiohttp import web

from streams.notify.local_http import BackgroundHttpServer


class WebhookRecorder:
    """Answers 200 to every request (any method) and keeps ``(path, body)``; 127.0.0.1."""

    def __init__(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{path:.*}", self._record)
        self.server = BackgroundHttpServer(app)
        self.url = self.server.url
        self._received: list[tuple[str, Any]] = []
        self._authorizations: list[tuple[str, str | None]] = []
        self._lock = threading.Lock()

    def received(self, path: str | None = None) -> list[Any]:
        with self._lock:
            return [body for where, body in self._received if path is None or where == path]

    def headers(self, path: str) -> list[str | None]:
        """The ``Authorization`` header of each request to ``path``."""
        with self._lock:
            return [value for where, value in self._authorizations if where == path]

    async def _record(self, request: web.Request) -> web.Response:
        body = await request.json()
        with self._lock:
            self._received.append((request.path, body))
            self._authorizations.append((request.path, request.headers.get("Authorization")))
        return web.json_response({"ok": True})


@contextmanager
def webhook_recorder() -> Iterator[WebhookRecorder]:
    recorder = WebhookRecorder()
    recorder.server.start()
    try:
        yield recorder
    finally:
        recorder.server.stop()

"""The worker's HTTP pages, served by Faust's web server: ``/metrics`` and ``/healthz``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import faust
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry
from prometheus_client.exposition import choose_encoder


def add_pages(
    app: faust.App, registry: CollectorRegistry, health: Callable[[], dict[str, Any]]
) -> None:
    @app.page("/metrics")
    async def metrics(web: Any, request: Any) -> Any:
        encoder, content_type = choose_encoder(request.headers.get("Accept", CONTENT_TYPE_LATEST))
        return web.bytes(encoder(registry), headers={"Content-Type": content_type})

    @app.page("/healthz")
    async def healthz(web: Any, _request: Any) -> Any:
        """503 unless ``status`` is ok: what a liveness probe acts on."""
        verdict = health()
        return web.json(verdict, status=200 if verdict["status"] == "ok" else 503)

"""The notify service's HTTP side: acknowledgement webhooks, ``/metrics`` and ``/healthz``.

Bound to 127.0.0.1 unless ``SPIKEWATCH_NOTIFY_WEB_HOST`` says otherwise: put a
TLS-terminating proxy in front before PagerDuty can reach it. A webhook is
answered 2xx only once its acknowledgements are on the acknowledgement topic,
so a tool that sees an error sends it again and nothing is lost.
"""

from __future__ import annotations

import hmac
from datetime import UTC, datetime

import structlog
from aiohttp import web
from aiokafka import AIOKafkaProducer
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from models.acknowledgement import Acknowledgement
from oncall.delivery.acks import (
    PAGERDUTY_SIGNATURE_HEADER,
    AckSource,
    InvalidWebhookError,
    alertmanager_acknowledgements,
    check_pagerduty_signature,
    pagerduty_acknowledgements,
)
from oncall.delivery.config import AckConfig
from streams.notify.metrics import NotifyMetrics

log = structlog.get_logger("spikewatch.notify")
MAX_WEBHOOK_BYTES = 1024 * 1024


def notify_web_app(
    acks: AckConfig, producer: AIOKafkaProducer, ack_topic: str, metrics: NotifyMetrics
) -> web.Application:
    secret = acks.pagerduty_signing_secret
    token = acks.alertmanager_bearer_token

    async def write(source: AckSource, found: list[Acknowledgement]) -> web.Response:
        for ack in found:
            await producer.send_and_wait(
                ack_topic,
                ack.model_dump_json(exclude_none=True).encode(),
                key=ack.dedup_key.encode(),
            )
        outcome = "written" if found else "ignored"
        metrics.acknowledgements.labels(source.value, outcome).inc()
        log.info("webhook handled", source=source.value, acknowledgements=len(found))
        return web.json_response({"acknowledgements": len(found)})

    def refuse(source: AckSource, status: int, outcome: str, why: str) -> web.Response:
        metrics.acknowledgements.labels(source.value, outcome).inc()
        log.warning("webhook refused", source=source.value, status=status, why=why)
        return web.json_response({"error": why}, status=status)

    async def pagerduty(request: web.Request) -> web.Response:
        body = await request.read()
        problem = check_pagerduty_signature(
            secret.get_secret_value() if secret is not None else None,
            request.headers.get(PAGERDUTY_SIGNATURE_HEADER),
            body,
        )
        if problem is not None:
            return refuse(AckSource.PAGERDUTY, 401, "unauthorized", problem.value)
        try:
            found = pagerduty_acknowledgements(body)
        except InvalidWebhookError as error:
            return refuse(AckSource.PAGERDUTY, 400, "invalid", str(error))
        return await write(AckSource.PAGERDUTY, found)

    async def alertmanager(request: web.Request) -> web.Response:
        offered = request.headers.get("Authorization", "")
        if token is not None and not hmac.compare_digest(
            offered.encode(), f"Bearer {token.get_secret_value()}".encode()
        ):
            return refuse(AckSource.ALERTMANAGER, 401, "unauthorized", "missing or wrong token")
        try:
            found = alertmanager_acknowledgements(await request.read(), datetime.now(UTC))
        except InvalidWebhookError as error:
            return refuse(AckSource.ALERTMANAGER, 400, "invalid", str(error))
        return await write(AckSource.ALERTMANAGER, found)

    async def exposition(_request: web.Request) -> web.Response:
        response = web.Response(body=generate_latest(metrics.registry))
        response.content_type = CONTENT_TYPE_LATEST.split(";")[0]
        return response

    async def health(_request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app = web.Application(client_max_size=MAX_WEBHOOK_BYTES)
    app.router.add_post("/ack/pagerduty", pagerduty)
    app.router.add_post("/ack/alertmanager", alertmanager)
    app.router.add_get("/metrics", exposition)
    app.router.add_get("/healthz", health)
    return app

"""What every console request can reach: the console's context, how people sign in, and
the keys under which the app and each request keep them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import jinja2
from aiohttp import web
from aiokafka import AIOKafkaProducer

from alerting.policy import OncallPolicy
from oncall.console.access import LOCAL_LOGIN, bearer_login, requires_auth
from streams.console.feed import Changes
from streams.console.metrics import ConsoleMetrics
from streams.console.store import IncidentStore


@dataclass
class Access:
    """How people authenticate when the console is bound beyond the default loopback."""

    host: str
    tokens: dict[str, str] = field(default_factory=dict)
    proxy_user_header: str | None = None
    pseudonym_key: bytes = b""

    @property
    def required(self) -> bool:
        return requires_auth(self.host)

    def login(self, request: web.Request) -> str | None:
        if not self.required:
            return LOCAL_LOGIN
        if self.proxy_user_header:
            user = request.headers.get(self.proxy_user_header, "").strip()
            if user:
                return user
        return bearer_login(request.headers.get("Authorization"), self.tokens)


@dataclass
class ConsoleContext:
    store: IncidentStore
    producer: AIOKafkaProducer
    metrics: ConsoleMetrics
    changes: Changes
    policy: OncallPolicy
    access: Access
    ack_topic: str
    verdict_topic: str
    report_url_template: str | None


CONTEXT: web.AppKey[ConsoleContext] = web.AppKey("console", ConsoleContext)
TEMPLATES: web.AppKey[jinja2.Environment] = web.AppKey("templates", jinja2.Environment)
ACTOR = web.RequestKey("actor", str)
CSRF_TOKEN = web.RequestKey("csrf", str)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

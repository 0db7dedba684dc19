"""The console's gate: who is signed in, and that an action's form came from the console.

Both run as middlewares before any page or action, so no handler can forget them.
"""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from aiohttp import web
from structlog import get_logger

from oncall.console.access import csrf_matches, pseudonymous_id
from streams.console.context import ACTOR, CONTEXT, CSRF_TOKEN, Handler

log = get_logger("spikewatch.console.web")

CSRF_COOKIE = "spikewatch_csrf"
CSRF_FIELD = "csrf"
OPEN_ACCESS = frozenset({"/healthz", "/metrics"})


@web.middleware
async def authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
    context = request.app[CONTEXT]
    if request.path in OPEN_ACCESS:
        return await handler(request)
    login = context.access.login(request)
    if login is None:
        context.metrics.refused.labels("401").inc()
        log.warning("console_unauthenticated", path=request.path, method=request.method)
        raise web.HTTPUnauthorized(
            text="sign in first: send a bearer token or come through the console's proxy\n",
            headers={"WWW-Authenticate": 'Bearer realm="spikewatch-console"'},
        )
    request[ACTOR] = pseudonymous_id(login, context.access.pseudonym_key)
    return await handler(request)


@web.middleware
async def csrf_cookie(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Give every page a CSRF token cookie; refuse an action whose form does not carry it."""
    token = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(24)
    request[CSRF_TOKEN] = token
    if request.method == "POST":
        form = await request.post()
        submitted = form.get(CSRF_FIELD)
        if not (
            csrf_matches(
                request.cookies.get(CSRF_COOKIE), submitted if isinstance(submitted, str) else None
            )
            and same_origin(request)
        ):
            request.app[CONTEXT].metrics.refused.labels("403").inc()
            log.warning("console_csrf_refused", path=request.path, actor=request.get(ACTOR))
            raise web.HTTPForbidden(text="stale or foreign form: reload the page and retry\n")
    response = await handler(request)
    if request.cookies.get(CSRF_COOKIE) != token and not response.prepared:
        response.set_cookie(CSRF_COOKIE, token, httponly=True, samesite="Strict", path="/")
    return response


def same_origin(request: web.Request) -> bool:
    """A browser names the page a form came from; it must be this console."""
    origin = request.headers.get("Origin")
    return origin is None or urlsplit(origin).netloc == request.host

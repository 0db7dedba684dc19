"""The console's HTTP side: pages, live streams and actions (its gate: guards.py).

Server-rendered pages (Jinja templates shipped as package data) and a few
lines of JavaScript that replace a fragment when the server sends one over
server-sent events; forms work without JavaScript. Nothing here decides: the
rows, the SLA, the chart's geometry and the access rules come from
:mod:`oncall.console`.

Access: see :mod:`oncall.console.access`. ``/healthz`` and ``/metrics`` stay
open (no incident data); everything else needs an authenticated person when
the console is bound beyond the default loopback address. Actions also need the
CSRF double-submit token, and are logged with the actor's pseudonymous id.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import quote, urlsplit

import jinja2
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from structlog import get_logger

from models.acknowledgement import AckAction, Acknowledgement, Actor
from models.escalation import Severity
from models.report import Category
from models.verdict import MAX_NOTE_LENGTH, Verdict, VerdictKind
from oncall.console.chart import bar_chart, line_chart
from oncall.console.incidents import IncidentRecord
from oncall.console.views import (
    HistoryQuery,
    OpenFilter,
    daily_summary,
    filter_choices,
    history,
    open_rows,
    sla_seconds_left,
)
from streams.console.context import ACTOR, CONTEXT, CSRF_TOKEN, TEMPLATES, ConsoleContext
from streams.console.guards import authenticate, csrf_cookie
from streams.console.metrics import Action

log = get_logger("spikewatch.console.web")

TOOL = "spikewatch-console"
STREAM_REFRESH_SECONDS = 5.0
"""Pages are re-sent at least this often, so ages and SLA countdowns move."""
SUMMARY_DAYS = 14


def make_app(context: ConsoleContext) -> web.Application:
    app = web.Application(middlewares=[authenticate, csrf_cookie])
    app[CONTEXT] = context
    app[TEMPLATES] = templates()
    app.on_shutdown.append(close_streams)
    app.router.add_get("/", open_page)
    app.router.add_get("/events", open_events)
    app.router.add_get("/incident/{key}", incident_page)
    app.router.add_get("/incident/{key}/events", incident_events)
    app.router.add_post("/incident/{key}/acknowledge", acknowledge)
    app.router.add_post("/incident/{key}/resolve", resolve)
    app.router.add_post("/incident/{key}/verdict", record_verdict)
    app.router.add_get("/history", history_page)
    app.router.add_get("/summary", summary_page)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    return app


async def close_streams(app: web.Application) -> None:
    app[CONTEXT].changes.close()


def templates() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("streams.console", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    environment.filters["duration"] = duration
    environment.filters["key_path"] = lambda key: quote(key, safe="")
    environment.filters["web_link"] = web_link
    environment.filters["when"] = lambda at: at.strftime("%Y-%m-%d %H:%M:%S UTC") if at else ""
    return environment


def web_link(url: str | None) -> str:
    """Only http(s) links are followed: a link from an event must not run script."""
    return url if url and urlsplit(url).scheme in ("http", "https") else ""


def duration(seconds: float | None) -> str:
    """Short human duration: 42s, 3m 05s, 2h 10m; a minus sign once an SLA is missed."""
    if seconds is None:
        return ""
    sign, left = ("-" if seconds < 0 else ""), int(abs(seconds))
    if left < 60:
        return f"{sign}{left}s"
    if left < 3600:
        return f"{sign}{left // 60}m {left % 60:02d}s"
    return f"{sign}{left // 3600}h {left % 3600 // 60:02d}m"


def render(request: web.Request, name: str, **values: Any) -> web.Response:
    page = request.app[TEMPLATES].get_template(name).render(csrf=request[CSRF_TOKEN], **values)
    return web.Response(text=page, content_type="text/html")


def open_filter(request: web.Request) -> OpenFilter:
    severity = request.query.get("severity", "")
    return OpenFilter(
        team=request.query.get("team", ""),
        region=request.query.get("region", ""),
        severity=Severity(severity) if severity in Severity.__members__.values() else None,
    )


def open_fragment(request: web.Request) -> str:
    context = request.app[CONTEXT]
    rows = open_rows(context.store, datetime.now(tz=UTC), context.policy, open_filter(request))
    return request.app[TEMPLATES].get_template("_open_rows.html").render(rows=rows)


async def open_page(request: web.Request) -> web.Response:
    teams, regions = filter_choices(request.app[CONTEXT].store)
    return render(
        request,
        "open.html",
        rows_html=open_fragment(request),
        chosen=open_filter(request),
        teams=teams,
        regions=regions,
        severities=list(Severity),
    )


async def stream(
    request: web.Request, event: str, fragment: Callable[[], str]
) -> web.StreamResponse:
    """Send ``fragment()`` as one server-sent event now, on every change, and every few seconds."""
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
    )
    await response.prepare(request)
    changes = request.app[CONTEXT].changes
    try:
        while not changes.closed:
            lines = "".join(f"data: {line}\n" for line in fragment().splitlines())
            await response.write(f"event: {event}\n{lines}\n".encode())
            await changes.wait(STREAM_REFRESH_SECONDS)
    except (ConnectionResetError, web.HTTPNotFound):
        log.debug("console_stream_closed", path=request.path)  # gone: the client or the incident
    return response


async def open_events(request: web.Request) -> web.StreamResponse:
    return await stream(request, "rows", lambda: open_fragment(request))


def incident_or_404(request: web.Request) -> IncidentRecord:
    record = request.app[CONTEXT].store.get(request.match_info["key"])
    if record is None or not record.escalated:
        raise web.HTTPNotFound(text="no such incident (it may have been forgotten)\n")
    return record


def status_fragment(request: web.Request) -> str:
    context = request.app[CONTEXT]
    record = incident_or_404(request)
    return (
        request.app[TEMPLATES]
        .get_template("_incident_status.html")
        .render(
            record=record,
            sla_left=sla_seconds_left(record, datetime.now(tz=UTC), context.policy),
        )
    )


async def incident_page(request: web.Request) -> web.Response:
    context = request.app[CONTEXT]
    record = incident_or_404(request)
    evidence = record.evidence
    chart = line_chart(evidence.series) if evidence and evidence.series else None
    template = context.report_url_template
    samples = [
        (
            report_id,
            template.replace("{report_id}", quote(report_id, safe="")) if template else None,
        )
        for report_id in (evidence.sample_report_ids if evidence else [])
    ]
    return render(
        request,
        "incident.html",
        record=record,
        evidence=evidence,
        chart=chart,
        samples=samples,
        status_html=status_fragment(request),
        verdicts=list(VerdictKind),
        max_note=MAX_NOTE_LENGTH,
    )


async def incident_events(request: web.Request) -> web.StreamResponse:
    incident_or_404(request)
    return await stream(request, "status", lambda: status_fragment(request))


async def acknowledge(request: web.Request) -> web.Response:
    return await send_acknowledgement(request, AckAction.ACKNOWLEDGED, Action.ACKNOWLEDGE)


async def resolve(request: web.Request) -> web.Response:
    return await send_acknowledgement(request, AckAction.RESOLVED, Action.RESOLVE)


async def send_acknowledgement(
    request: web.Request, action: AckAction, counted: Action
) -> web.Response:
    context = request.app[CONTEXT]
    record = incident_or_404(request)
    ack = Acknowledgement(
        schema_version=1,
        dedup_key=record.dedup_key,
        action=action,
        actor=Actor.HUMAN,
        acted_at=datetime.now(tz=UTC),
        tool=TOOL,
    )
    await context.producer.send_and_wait(
        context.ack_topic, ack.model_dump_json().encode(), key=record.dedup_key.encode()
    )
    return acted(request, counted, record.dedup_key)


async def record_verdict(request: web.Request) -> web.Response:
    context = request.app[CONTEXT]
    record = incident_or_404(request)
    form = await request.post()
    kind, note = form.get("verdict"), form.get("note")
    if not isinstance(kind, str) or kind not in VerdictKind.__members__.values():
        raise web.HTTPBadRequest(text=f"verdict must be one of {', '.join(VerdictKind)}\n")
    text = note.strip() if isinstance(note, str) else ""
    if len(text) > MAX_NOTE_LENGTH:
        raise web.HTTPBadRequest(text=f"note is longer than {MAX_NOTE_LENGTH} characters\n")
    verdict = Verdict(
        dedup_key=record.dedup_key,
        verdict=VerdictKind(kind),
        note=text or None,
        actor=request[ACTOR],
        decided_at=datetime.now(tz=UTC),
        tool=TOOL,
    )
    await context.producer.send_and_wait(
        context.verdict_topic, verdict.to_json_bytes(), key=record.dedup_key.encode()
    )
    return acted(request, Action.VERDICT, record.dedup_key, verdict=kind)


def acted(request: web.Request, action: Action, dedup_key: str, **detail: str) -> web.Response:
    request.app[CONTEXT].metrics.actions.labels(action.value).inc()
    log.info(
        "console_action", action=action.value, dedup_key=dedup_key, actor=request[ACTOR], **detail
    )
    raise web.HTTPSeeOther(f"/incident/{quote(dedup_key, safe='')}")


def history_query(request: web.Request) -> HistoryQuery:
    query = request.query
    category, day = query.get("category", ""), query.get("date", "")
    try:
        chosen_day = date.fromisoformat(day) if day else None
    except ValueError as error:
        raise web.HTTPBadRequest(text="date must be YYYY-MM-DD\n") from error
    return HistoryQuery(
        broadcast_id=query.get("broadcast", "").strip(),
        broadcaster_id=query.get("broadcaster", "").strip(),
        team=query.get("team", "").strip(),
        category=Category(category) if category in Category.__members__.values() else None,
        day=chosen_day,
    )


async def history_page(request: web.Request) -> web.Response:
    query = history_query(request)
    found = history(request.app[CONTEXT].store, query)
    return render(request, "history.html", records=found, query=query, categories=list(Category))


async def summary_page(request: web.Request) -> web.Response:
    days = daily_summary(request.app[CONTEXT].store, datetime.now(tz=UTC), SUMMARY_DAYS)
    labels = [day.day.strftime("%m-%d") for day in days]
    return render(
        request,
        "summary.html",
        days=days,
        pages=bar_chart(list(zip(labels, [float(day.pages) for day in days], strict=True))),
        confirmed=bar_chart(
            list(
                zip(
                    labels,
                    [None if s is None else 100 * s for s in (d.confirmed_share for d in days)],
                    strict=True,
                )
            ),
            value_format="{:.0f}%",
        ),
        acknowledge=bar_chart(
            list(zip(labels, [day.median_seconds_to_acknowledge for day in days], strict=True)),
            value_format="{:.0f}s",
        ),
    )


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok", "incidents": len(request.app[CONTEXT].store.records)})


async def metrics(request: web.Request) -> web.Response:
    body = generate_latest(request.app[CONTEXT].metrics.registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

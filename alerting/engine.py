"""The decision core: reports in, escalations out, for one broadcast at a time.

The live worker and ``spikewatch replay`` call the same two methods:

* :meth:`DetectionEngine.observe` for every report, in the order the broadcast's
  partition delivers them;
* :meth:`DetectionEngine.tick` from a timer, to resolve incidents that have gone
  quiet and to tell the caller when a broadcast's state can be dropped.

Detectors run after every single report (not once per batch), so the decisions
and their evidence do not depend on how the shell happens to batch messages.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from alerting.detectors import (
    CategoryView,
    Detector,
    Signal,
    Verdict,
    default_detectors,
    expected_reports,
)
from alerting.incidents import (
    Incident,
    close_incident,
    event_id_for,
    on_active_signal,
    open_incident,
    resolve_due,
)
from alerting.policy import Policy
from alerting.state import BroadcastState, reporter_key
from alerting.window import CategoryWindow, WindowShape
from models.escalation import Escalation, EscalationLabels, EventAction, Evidence
from models.report import Category, ReporterInfo, ReportEvent


@dataclass(slots=True)
class Observation:
    """What one report did: the escalations to send, and whether it was too late to count."""

    escalations: list[Escalation] = field(default_factory=list)
    late: bool = False


@dataclass(slots=True)
class TickResult:
    escalations: list[Escalation] = field(default_factory=list)
    evictable: bool = False


def _utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


class DetectionEngine:
    def __init__(self, policy: Policy, detectors: Sequence[Detector] | None = None) -> None:
        self.policy = policy
        self.detectors = tuple(detectors) if detectors is not None else default_detectors()
        window = policy.window
        self.shape = WindowShape(
            length_seconds=window.length_seconds,
            bucket_seconds=window.bucket_seconds,
            allowed_lateness_seconds=window.allowed_lateness_seconds,
            max_reporters=window.max_reporters_per_category,
        )

    def observe(
        self, state: BroadcastState, report: ReportEvent, decided_at: float | None = None
    ) -> Observation:
        """Count ``report`` into ``state`` (mutated in place) and decide.

        ``decided_at`` stamps ``detected_at``: wall-clock time live, and left None in
        replay, where the report's event time is the time of the decision.
        """
        event_time = report.event_time
        shape = self.shape
        if state.watermark is not None and (
            event_time < state.watermark - shape.allowed_lateness_seconds
            or shape.bucket_of(event_time) < shape.first_bucket(state.watermark)
        ):
            return Observation(late=True)
        if state.watermark is None or event_time > state.watermark:
            state.watermark = event_time
        state.remember_context(report)
        window = state.windows.get(report.category)
        if window is None:
            window = state.windows[report.category] = CategoryWindow()
        window.add(
            shape,
            shape.bucket_of(event_time),
            event_time,
            reporter_key(report.reporter_id),
            self._is_credible(report.reporter),
            report.report_id,
        )
        window.expire(shape, state.watermark)
        moment = event_time if decided_at is None else decided_at
        return Observation(self._decide(state, report.category, window, event_time, moment))

    def tick(self, state: BroadcastState, now: float) -> TickResult:
        """Resolve incidents quiet since ``resolve_after_quiet_seconds`` before ``now``.

        ``now`` is wall-clock time live and the replay's event-time watermark
        offline. The state is evictable once no incident is open and every window
        has emptied. Every window is also expired to the broadcast's own watermark
        and dropped once empty: a report only expires its own category's window, so
        on a long-lived broadcast the other categories would otherwise keep their
        old reporters and an empty window each until the whole broadcast went quiet.
        """
        result = TickResult()
        for category, incident in list(state.incidents.items()):
            if resolve_due(incident, now, self.policy.lifecycle):
                close_incident(incident, now)
                del state.incidents[category]
                window = state.windows.get(category, CategoryWindow())
                result.escalations.append(
                    self._escalation(state, incident, EventAction.RESOLVE, window, [], now)
                )
        if state.watermark is not None:
            horizon = now - self.shape.length_seconds - self.shape.allowed_lateness_seconds
            window_end = now if state.watermark < horizon else state.watermark
            for category, window in list(state.windows.items()):
                window.expire(self.shape, window_end)
                if window.is_empty:
                    del state.windows[category]
        result.evictable = state.is_idle
        return result

    def _is_credible(self, reporter: ReporterInfo | None) -> bool:
        """Trusted flaggers, or high-trust accounts that are old enough and were watching.

        Unknown fields do not disqualify (older clients omit them), a known bad
        value does: a brand-new account or a reporter who was not watching cannot
        page on-call with a single report.
        """
        if reporter is None:
            return False
        if reporter.trusted_flagger:
            return True
        rules = self.policy.credible_report
        return (
            reporter.trust is not None
            and reporter.trust >= rules.min_trust
            and reporter.was_viewing is not False
            and (
                reporter.account_age_days is None
                or reporter.account_age_days >= rules.min_account_age_days
            )
        )

    def _view(
        self, state: BroadcastState, category: Category, window: CategoryWindow
    ) -> CategoryView:
        return CategoryView(
            category=category,
            reports=window.reports,
            distinct_reporters=window.distinct_reporters,
            credible_reporters=window.credible_reporters,
            viewers=state.viewers,
            window_seconds=self.shape.length_seconds,
        )

    def _decide(
        self,
        state: BroadcastState,
        category: Category,
        window: CategoryWindow,
        event_time: float,
        moment: float,
    ) -> list[Escalation]:
        view = self._view(state, category, window)
        verdicts = [detector.evaluate(view, self.policy) for detector in self.detectors]
        fired = [v for v in verdicts if v.signal is Signal.FIRE]
        active = fired or [v for v in verdicts if v.signal is Signal.SUSTAIN]
        incident = state.incidents.get(category)
        if not active:
            return []
        strongest = max(fired, key=lambda v: v.severity.rank) if fired else None
        if incident is None:
            if strongest is None:
                return []
            incident = open_incident(
                state.broadcast_id,
                category,
                strongest.escalation_class,
                strongest.severity,
                event_time,
            )
            state.incidents[category] = incident
            action: EventAction | None = EventAction.TRIGGER
        else:
            action = on_active_signal(
                incident,
                strongest.severity if strongest else None,
                event_time,
                self.policy.lifecycle,
            )
        if action is None:
            return []
        return [self._escalation(state, incident, action, window, verdicts, moment)]

    def _escalation(
        self,
        state: BroadcastState,
        incident: Incident,
        action: EventAction,
        window: CategoryWindow,
        verdicts: list[Verdict],
        moment: float,
    ) -> Escalation:
        category = incident.category
        route = self.policy.category(category)
        view = self._view(state, category, window)
        expected, _ = expected_reports(view, self.policy)
        window_end = state.watermark if state.watermark is not None else moment
        first_bucket = self.shape.first_bucket(window_end)
        return Escalation(
            event_id=event_id_for(incident.dedup_key, incident.sequence),
            dedup_key=incident.dedup_key,
            sequence=incident.sequence,
            event_action=action,
            severity=incident.severity,
            escalation_class=incident.escalation_class,
            summary=_summary(state, incident, action, window, expected, verdicts),
            labels=EscalationLabels(
                broadcast_id=state.broadcast_id,
                broadcaster_id=state.broadcaster_id,
                category=category,
                platform=state.platform,
                media_type=state.media_type,
                region=state.region,
                team=route.team,
            ),
            evidence=Evidence(
                reports=window.reports,
                distinct_reporters=window.distinct_reporters,
                viewers=state.viewers,
                expected_reports=round(expected, 6),
                window_start=_utc(first_bucket * self.shape.bucket_seconds),
                window_end=_utc(window_end),
                sample_report_ids=list(window.sample_report_ids),
                rules=[verdict.as_rule_firing() for verdict in verdicts],
            ),
            detected_at=_utc(moment),
            starts_at=_utc(incident.opened_at),
            ends_at=_utc(moment) if action is EventAction.RESOLVE else None,
            policy_version=self.policy.policy_version,
        )


def _summary(
    state: BroadcastState,
    incident: Incident,
    action: EventAction,
    window: CategoryWindow,
    expected: float,
    verdicts: list[Verdict],
) -> str:
    subject = f"{incident.category.value} on broadcast {state.broadcast_id}"
    if action is EventAction.RESOLVE:
        return f"Resolved: {subject}: no detector above its low mark since the last signal"
    reasons = "; ".join(v.reason for v in verdicts if v.signal is Signal.FIRE) or "still active"
    prefix = "Severity raised" if action is EventAction.UPDATE else incident.escalation_class.value
    return (f"{prefix}: {subject}: {reasons} ({window.reports} reports, {expected:.2f} expected)")[
        :1024
    ]

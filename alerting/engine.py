"""The decision core: reports in, escalations out, for one broadcast at a time.

The live worker and ``spikewatch replay`` call the same two methods:

* :meth:`DetectionEngine.observe` for every report, in the order the broadcast's
  partition delivers them;
* :meth:`DetectionEngine.tick` from a timer, to resolve incidents that have gone
  quiet and to tell the caller when a broadcast's state can be dropped.

Detectors run after every single report (not once per batch), so the decisions
and their evidence do not depend on how the shell happens to batch messages.
They are only *assessed* then (signal, severity, class); the full verdicts with
their reasons and figures are built for an escalation that is actually sent,
from the same figures, so the evidence is what it would be if every verdict
were built every time.

Two incident tracks per broadcast and category: *abuse* (credible report,
audience spike, ramp) and *coordination* (coordinated reporting). When both are
active the abuse incident wins: a coordination incident is resolved as
superseded, and none opens while an abuse incident is open, so on-call never
sees a "this is a campaign" note contradicting a real page.

Routing happens here too: a coordination incident goes to the coordination
team; an abuse incident on a watchlisted broadcaster goes one severity up (never
past the category's ceiling) to the high-profile team; otherwise the category's
team for the broadcast's region, or its default team.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from alerting.baseline import BaseRateLearner
from alerting.detectors import (
    Assessment,
    CategoryView,
    Detector,
    Signal,
    Verdict,
    ViewOdds,
    capped_severity,
    default_coordination_detectors,
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
from alerting.ramp import RampState
from alerting.state import BroadcastState, reporter_key
from alerting.window import WEIGHT_UNIT, CategoryWindow, ReporterStanding, WindowShape
from models.escalation import (
    Escalation,
    EscalationLabels,
    EventAction,
    Evidence,
    Severity,
)
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
    """``watchlist`` is read by the shell (the policy's inline broadcasters plus its
    watchlist file) and replaced by it when that file changes; without one the
    engine knows only the inline broadcasters, since the core never reads files."""

    def __init__(
        self,
        policy: Policy,
        detectors: Sequence[Detector] | None = None,
        watchlist: frozenset[str] | None = None,
    ) -> None:
        self.policy = policy
        self.detectors = tuple(detectors) if detectors is not None else default_detectors()
        self.coordination_detectors = default_coordination_detectors()
        self.watchlist = watchlist if watchlist is not None else policy.high_profile.broadcasters
        window = policy.window
        self.shape = WindowShape(
            length_seconds=window.length_seconds,
            bucket_seconds=window.bucket_seconds,
            allowed_lateness_seconds=window.allowed_lateness_seconds,
            max_reporters=window.max_reporters_per_category,
        )

    def observe(
        self,
        state: BroadcastState,
        report: ReportEvent,
        decided_at: float | None = None,
        learner: BaseRateLearner | None = None,
        event_time: float | None = None,
    ) -> Observation:
        """Count ``report`` into ``state`` (mutated in place) and decide.

        ``decided_at`` stamps ``detected_at``: wall-clock time live, and left None in
        replay, where the report's event time is the time of the decision.
        ``learner`` supplies learned base rates and learns from the report; without
        one the policy's priors are used. ``event_time`` is ``report.event_time``
        when the caller has it already (it costs about half a microsecond).
        """
        if event_time is None:
            event_time = report.event_time
        shape = self.shape
        bucket = shape.bucket_of(event_time)
        previous_watermark = state.watermark
        if previous_watermark is not None and (
            event_time < previous_watermark - shape.allowed_lateness_seconds
            or bucket < shape.first_bucket(previous_watermark)
        ):
            return Observation(late=True)
        watermark = (
            event_time
            if previous_watermark is None or event_time > previous_watermark
            else previous_watermark
        )
        state.watermark = watermark
        state.remember_context(report)
        category = report.category
        window = state.windows.get(category)
        if window is None:
            window = state.windows[category] = CategoryWindow()
        rate = self._rate(category, learner)
        ramp = state.ramps.get(category)
        if ramp is None:
            ramp = state.ramps[category] = RampState()
        ramp.advance(bucket, rate * self._audience(state) * shape.bucket_seconds, self.policy.ramp)
        added = window.add(
            shape,
            bucket,
            event_time,
            reporter_key(report.reporter_id),
            self._standing(report.reporter),
            report.report_id,
        )
        ramp.add(added)
        window.expire(shape, watermark)
        if learner is not None and not state.incidents and not state.coordination:
            learner.learn(
                event_time,
                self._exposure(state, previous_watermark, event_time),
                category,
                added,
                self.policy,
            )
        moment = event_time if decided_at is None else decided_at
        return Observation(self._decide(state, category, window, rate, event_time, moment))

    def tick(self, state: BroadcastState, now: float) -> TickResult:
        """Resolve incidents quiet since ``resolve_after_quiet_seconds`` before ``now``.

        ``now`` is wall-clock time live and the replay's event-time watermark
        offline. The state is evictable once no incident is open and every window
        has emptied. Every window is also expired to the broadcast's own watermark
        and dropped once empty: a report only expires its own category's window, so
        on a long-lived broadcast the other categories would otherwise keep their
        old reporters and an empty window each until the whole broadcast went quiet.

        The shell ticks every tracked broadcast every second, and most have nothing
        to do: no incident open and no window with a bucket to drop. Those cost a
        few comparisons (:meth:`CategoryWindow.is_expired_by`) and change nothing.
        """
        if state.incidents or state.coordination or self._windows_due(state, now):
            return self._tick_in_full(state, now)
        return TickResult(evictable=state.is_idle)

    def _window_end(self, state: BroadcastState, now: float) -> float | None:
        """Where a tick at ``now`` ends the broadcast's windows (None: it has had no report).

        The broadcast's own watermark, unless it has been quiet for longer than a
        window and its lateness: then ``now``, so its windows empty and it can go.
        """
        if state.watermark is None:
            return None
        horizon = now - self.shape.length_seconds - self.shape.allowed_lateness_seconds
        return now if state.watermark < horizon else state.watermark

    def _windows_due(self, state: BroadcastState, now: float) -> bool:
        """Whether a tick at ``now`` would drop a bucket or an empty window."""
        window_end = self._window_end(state, now)
        return window_end is not None and any(
            window.is_empty or window.is_expired_by(self.shape, window_end)
            for window in state.windows.values()
        )

    def _tick_in_full(self, state: BroadcastState, now: float) -> TickResult:
        """Every step of a tick: resolve quiet incidents, expire and drop windows."""
        result = TickResult()
        for incidents in (state.incidents, state.coordination):
            for incident in list(incidents.values()):
                if resolve_due(
                    incident, now, self.policy.lifecycle, self.shape.allowed_lateness_seconds
                ):
                    quiet = now - incident.last_active_at
                    result.escalations.append(
                        self._resolve(
                            state,
                            incidents,
                            incident,
                            Verdict(
                                rule="quiet_period",
                                signal=Signal.FIRE,
                                severity=incident.severity,
                                escalation_class=incident.escalation_class,
                                reason=f"no detector above its low mark for {quiet:.0f} s",
                                figures={
                                    "quiet_seconds": round(quiet, 3),
                                    "resolve_after_quiet_seconds": (
                                        self.policy.lifecycle.resolve_after_quiet_seconds
                                    ),
                                },
                            ),
                            now,
                        )
                    )
        window_end = self._window_end(state, now)
        if window_end is not None:
            for category, window in list(state.windows.items()):
                window.expire(self.shape, window_end)
                if window.is_empty:
                    del state.windows[category]
        result.evictable = state.is_idle
        return result

    def _resolve(
        self,
        state: BroadcastState,
        incidents: dict[Category, Incident],
        incident: Incident,
        why: Verdict,
        at: float,
    ) -> Escalation:
        close_incident(incident, at)
        del incidents[incident.category]
        window = state.windows.get(incident.category, CategoryWindow())
        return self._escalation(state, incident, EventAction.RESOLVE, window, [why], at)

    def _rate(self, category: Category, learner: BaseRateLearner | None) -> float:
        if learner is None:
            return self.policy.category(category).base_rate_per_viewer_second
        return learner.rate(category, self.policy)

    def _audience(self, state: BroadcastState) -> int:
        spike = self.policy.spike
        viewers = state.viewers if state.viewers is not None else spike.default_viewers
        return max(viewers, spike.min_viewers)

    def _exposure(
        self, state: BroadcastState, previous_watermark: float | None, event_time: float
    ) -> float:
        """Viewer-seconds since the broadcast's previous report, the gap capped."""
        if previous_watermark is None or event_time <= previous_watermark:
            return 0.0
        gap = min(event_time - previous_watermark, self.policy.learning.max_gap_seconds)
        return gap * (state.viewers or 0)

    def _standing(self, reporter: ReporterInfo | None) -> ReporterStanding:
        """Credibility, trust weight and suspicion of one report's reporter.

        Unknown fields neither help nor hurt (older clients omit them): a reporter
        the front end says nothing about weighs exactly 1.
        """
        credible = self._is_credible(reporter)
        if reporter is None:
            return ReporterStanding(credible, WEIGHT_UNIT, False)
        trust = self.policy.trust
        suspect = (
            (
                reporter.account_age_days is not None
                and reporter.account_age_days < trust.new_account_days
            )
            or (reporter.trust is not None and reporter.trust < trust.low_trust)
            or reporter.was_viewing is False
        ) and not reporter.trusted_flagger
        if suspect:
            return ReporterStanding(credible, 0, True)
        weight = 1.0
        if reporter.trust is not None and reporter.trust > trust.neutral_trust:
            weight += (
                trust.high_trust_bonus
                * (reporter.trust - trust.neutral_trust)
                / (1 - trust.neutral_trust)
            )
        if reporter.trusted_flagger:
            weight = max(weight, trust.trusted_flagger_weight)
        return ReporterStanding(credible, math.floor(weight * WEIGHT_UNIT + 0.5), False)

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
        self,
        state: BroadcastState,
        category: Category,
        window: CategoryWindow,
        rate: float | None = None,
    ) -> CategoryView:
        ramp = state.ramps.get(category)
        return CategoryView(
            category=category,
            reports=window.reports,
            distinct_reporters=window.distinct_reporters,
            credible_reporters=window.credible_reporters,
            viewers=state.viewers,
            window_seconds=self.shape.length_seconds,
            weighted_reporters=window.weighted_reporters,
            suspect_reporters=window.suspect_reporters,
            base_rate=rate,
            ramp_statistic=ramp.statistic if ramp is not None else 0.0,
        )

    def _decide(
        self,
        state: BroadcastState,
        category: Category,
        window: CategoryWindow,
        rate: float,
        event_time: float,
        moment: float,
    ) -> list[Escalation]:
        odds = ViewOdds(self._view(state, category, window, rate), self.policy)
        sent = self._advance(
            state,
            state.incidents,
            state.last_incident_key_ms,
            odds,
            window,
            self.detectors,
            event_time,
            moment,
        )
        if category not in state.incidents:
            sent += self._advance(
                state,
                state.coordination,
                state.last_coordination_key_ms,
                odds,
                window,
                self.coordination_detectors,
                event_time,
                moment,
            )
            return sent
        superseded = state.coordination.get(category)
        if superseded is not None:
            why = Verdict(
                rule="abuse_incident_wins",
                signal=Signal.FIRE,
                severity=superseded.severity,
                escalation_class=superseded.escalation_class,
                reason=f"superseded by abuse incident {state.incidents[category].dedup_key}",
            )
            sent.append(self._resolve(state, state.coordination, superseded, why, moment))
        return sent

    def _advance(
        self,
        state: BroadcastState,
        incidents: dict[Category, Incident],
        last_key_ms: dict[Category, int],
        odds: ViewOdds,
        window: CategoryWindow,
        detectors: Sequence[Detector],
        event_time: float,
        moment: float,
    ) -> list[Escalation]:
        """Move one track's incident through its lifecycle on its detectors' assessments.

        A track is the abuse or the coordination one: its open incidents and the key
        times of its last incidents, by category.

        The detectors explain themselves (the escalation's evidence) only when an
        escalation is sent.
        """
        active = [a for detector in detectors if (a := detector.assess(odds)) is not None]
        if not active:
            return []
        category = odds.view.category
        incident = incidents.get(category)
        fired = [a for a in active if a.signal is Signal.FIRE]
        strongest = max(fired, key=lambda a: a.severity.rank) if fired else None
        severity = (
            self._routed_severity(state, category, strongest) if strongest is not None else None
        )
        if incident is None:
            if strongest is None or severity is None:
                return []
            incident = open_incident(
                state.broadcast_id,
                category,
                strongest.escalation_class,
                severity,
                event_time,
                last_key_ms.get(category),
            )
            incidents[category] = incident
            last_key_ms[category] = incident.key_ms
            action: EventAction | None = EventAction.TRIGGER
        else:
            action = on_active_signal(incident, severity, event_time, self.policy.lifecycle)
        if action is None:
            return []
        verdicts = [detector.explain(odds) for detector in detectors]
        return [
            self._escalation(state, incident, action, window, verdicts, moment, odds.view.base_rate)
        ]

    def _high_profile(self, state: BroadcastState) -> bool:
        return state.broadcaster_id is not None and state.broadcaster_id in self.watchlist

    def _routed_severity(
        self, state: BroadcastState, category: Category, assessment: Assessment
    ) -> Severity:
        """A high-profile broadcaster's abuse incident goes one level up, within the ceiling."""
        if not assessment.escalation_class.is_abuse or not self._high_profile(state):
            return assessment.severity
        return capped_severity(assessment.severity.raised(), self.policy, category)

    def _team(self, state: BroadcastState, incident: Incident) -> str:
        if not incident.escalation_class.is_abuse:
            return self.policy.coordination.team
        if self._high_profile(state):
            return self.policy.high_profile.team
        return self.policy.category(incident.category).team_for(state.region)

    def _escalation(
        self,
        state: BroadcastState,
        incident: Incident,
        action: EventAction,
        window: CategoryWindow,
        verdicts: list[Verdict],
        moment: float,
        rate: float | None = None,
    ) -> Escalation:
        """``rate`` is the learned base rate the decision used (None on a resolve: the prior)."""
        category = incident.category
        view = self._view(state, category, window, rate)
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
                team=self._team(state, incident),
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

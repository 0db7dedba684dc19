"""The decision core: reports in, escalations (v2) out, for one broadcast at a time.

The live worker and ``spikewatch replay`` call the same two methods:

* :meth:`DetectionEngine.observe` for every report, in the order the broadcast's
  partition delivers them;
* :meth:`DetectionEngine.tick` from a timer, to resolve incidents that have gone
  quiet and to tell the caller when a broadcast's state can be dropped.

Detectors run after every single report (not once per batch), so the decisions and
their evidence do not depend on how the shell batches messages. They are only
*assessed* then; the full verdicts are built for an escalation actually sent.

Two views per report. The report's *category* window (credible report, audience
spike, ramp) and the *broadcast-wide* window, in which every reporter counts once
whatever the abuse categories they chose and the expectation is the sum of those
categories' rates (audience spike, coordination): viewers file one abusive
broadcast under several categories, and a surge spread across them is as
improbable as one in a single category. The abuse categories are those whose
ceiling pages (:func:`alerting.policy.abuse_categories`); a report in a low-harm
category (spam, copyright) is judged in its own window alone, coordination
included, and neither counts in nor dilutes the broadcast-wide statistic. Both
expectations use the learned population rates (:mod:`alerting.baseline`) scaled
by the broadcast's own history (:mod:`alerting.history`). Elsewhere: the two views
(:mod:`alerting.report_views`), the incidents they open or join (:mod:`alerting.incident_desk`),
teams (:mod:`alerting.routing`), weight (:mod:`alerting.standing`).

Coordinated reporting is its own track and class, never proof of abuse: while
an abuse incident is open none opens, and an open one is resolved as superseded.

A broadcast whose audience is unknown (no report has carried ``viewer_count``) has no
scale to judge a count by: it is judged by its categories' shares of its own reporters
(:meth:`alerting.expectation.Expectation.rates`), in its window and newest half-minute,
without the broadcast-wide test, the ramp and the coordination detector (they need one).
"""

from __future__ import annotations

from collections.abc import Sequence

from alerting.admission import broadcast_clock
from alerting.baseline import BaseRateLearner
from alerting.detectors import (
    Assessment,
    AudienceSpikeDetector,
    Detector,
    Rule,
    Signal,
    Verdict,
    default_coordination_detectors,
    default_detectors,
    quiet_period,
)
from alerting.evidence import Rates, escalation
from alerting.expectation import Expectation
from alerting.incident_desk import IncidentDesk
from alerting.incidents import (
    Incident,
    close_incident,
    incident_categories,
    resolve_due,
)
from alerting.outcomes import ClockCorrection, Observation, TickResult
from alerting.policy import Policy, abuse_categories
from alerting.ramp import ramp_beside
from alerting.report_views import ReportViews, adds_nothing
from alerting.routing import Routing
from alerting.standing import reporter_standing, scaled_standing
from alerting.state import BroadcastState, reporter_key
from alerting.views import PolicyFigures, ViewOdds
from alerting.window import CategoryWindow
from alerting.window_shape import WindowShape
from models.escalation import EventAction
from models.escalation_v2 import EscalationV2
from models.report import Category, ReportEvent


def _assess(detector: Detector, odds: ViewOdds) -> Assessment | None:
    """``detector.assess(odds)``; compiled, a call through the :class:`Detector` protocol is a
    Python method call, while a :class:`Rule`'s (every built-in detector) is a native one."""
    if isinstance(detector, Rule):
        return detector.assess(odds)
    return detector.assess(odds)


class DetectionEngine:
    """``watchlist`` is read by the shell (the policy's inline broadcasters plus its
    watchlist file) and replaced by it in ``routing`` when that file changes; without
    one the engine knows only the inline broadcasters, since the core never reads files.

    ``detectors`` judge the report's category window; the broadcast-wide window is
    judged by the audience spike (abuse) and the coordination detector.
    """

    def __init__(
        self,
        policy: Policy,
        detectors: Sequence[Detector] | None = None,
        watchlist: frozenset[str] | None = None,
    ) -> None:
        self.policy = policy
        self.figures = PolicyFigures(policy)
        self.history_policy = policy.history
        self.ramp_policy = policy.ramp
        self.detectors = tuple(detectors) if detectors is not None else default_detectors()
        self.broadcast_detectors: tuple[Detector, ...] = (AudienceSpikeDetector(),)
        self.coordination_detectors = default_coordination_detectors()
        self.routing = Routing(
            policy, watchlist if watchlist is not None else policy.high_profile.broadcasters
        )
        window = policy.window
        self.shape = WindowShape(
            length_seconds=window.length_seconds,
            bucket_seconds=window.bucket_seconds,
            allowed_lateness_seconds=window.allowed_lateness_seconds,
            max_reporters=window.max_reporters_per_category,
        )
        self.abuse = abuse_categories(policy)
        self.expectation = Expectation(policy, self.figures, self.shape, self.abuse)
        self.views = ReportViews(self.expectation)
        self.desk = IncidentDesk(
            policy,
            self.shape,
            self.routing,
            self.detectors,
            self.broadcast_detectors,
            self.coordination_detectors,
            self.abuse,
        )

    def observe(
        self,
        state: BroadcastState,
        report: ReportEvent,
        decided_at: float | None = None,
        learner: BaseRateLearner | None = None,
        event_time: float | None = None,
        record_time: float | None = None,
    ) -> Observation:
        """Count ``report`` into ``state`` (mutated in place) and decide.

        ``decided_at`` stamps ``detected_at``: wall-clock time live, and left None in replay,
        where the report's event time is the time of the decision. ``learner`` supplies
        learned base rates and learns from the report while no detector (nor a ramp's
        CUSUM) sees anything on the broadcast, else holds the broadcast at the rate it last
        taught (:meth:`BaseRateLearner.hold`); without one, the priors. ``event_time`` is
        ``report.event_time`` when the caller has it already. ``record_time`` is the Kafka
        record's timestamp when known: the event time never runs ahead of it by more than
        the policy's clock tolerance, and a report too late for the broadcast's window
        counts at it while it is not (a clock minutes behind, or a delivery later than the
        allowed lateness: counted late is worth more to on-call than not counted), but
        never after the broadcast's newest report: a late report does not move its clock.
        """
        if event_time is None:
            event_time = report.event_time
        clock = None
        if (
            record_time is not None
            and event_time > record_time + self.figures.clock_tolerance_seconds
        ):
            event_time, clock = record_time, ClockCorrection.AHEAD
        shape = self.shape
        previous_watermark = state.watermark
        if previous_watermark is not None and self._too_late(event_time, previous_watermark):
            if record_time is None or self._too_late(record_time, previous_watermark):
                return Observation(late=True, clock=clock)
            event_time = min(record_time, previous_watermark)
            clock = ClockCorrection.BEHIND
        bucket = shape.bucket_of(event_time)
        watermark = (
            event_time
            if previous_watermark is None or event_time > previous_watermark
            else previous_watermark
        )
        state.watermark = watermark
        if state.unrouted:
            self.routing.route_restored(state)
        exposure = self.expectation.exposure(state, previous_watermark, event_time, record_time)
        state.advance_record_clock(record_time)
        audience_was_known = state.viewers is not None
        state.remember_context(
            report,
            newest=clock is None
            and (previous_watermark is None or event_time >= previous_watermark),
        )
        category = report.category
        abuse = category in self.abuse
        standing = reporter_standing(report.reporter, self.figures)
        raw_weight_milli = standing.weight_milli
        standing = scaled_standing(standing, self.expectation.dispersion(learner))
        window, combined, added, added_combined = state.count(
            shape,
            category,
            abuse,
            bucket,
            event_time,
            watermark,
            reporter_key(report.reporter_id),
            standing,
            report.report_id,
        )
        quiet = not state.incidents and not state.coordination
        population = self.expectation.population(learner)
        unsized = state.viewers is None
        if not unsized and not state.coordination:
            every, taught = population[2], True
            if state.incidents:
                unlearned = incident_categories(state.incidents.values())
                every -= sum(population[0][c] for c in unlearned)
                taught = category not in unlearned
            state.history.add(
                bucket,
                (added_combined if abuse else added) if taught else 0,
                exposure * every,
                shape.bucket_seconds,
                self.history_policy,
                category,
                added if taught else 0,
            )
        rates = self.expectation.rates(state, population)
        if not unsized:
            ramp = state.ramps.get(category)
            if ramp is None:
                history = state.history
                seed_weight, seed_exposure = history.reference_seed(
                    category, rates.factor, population[2]
                )
                ramp = state.ramps[category] = ramp_beside(
                    state.ramps.values(), seed_weight, seed_exposure, history.folded_bucket
                )
            bucket_exposure = rates.factor * rates.audience * shape.bucket_seconds
            if ramp.bucket is not None and bucket > ramp.bucket:
                ramp.loudness = (
                    1.0
                    if combined is window
                    else self.expectation.loudness_elsewhere(
                        category, window, combined, rates, bucket
                    )
                )
            ramp.advance(
                bucket,
                rates.by_category[category],
                bucket_exposure,
                shape.bucket_seconds,
                self.ramp_policy,
                learn=quiet,
            )
            ramp.add(added)
        moment = event_time if decided_at is None else decided_at
        sent, active = self._decide(state, category, window, rates, bucket, event_time, moment)
        if learner is not None and previous_watermark is not None and audience_was_known:
            mark = self.figures.ramp_marks[len(state.ramps)]
            climbing = not unsized and state.ramps[category].statistic >= mark
            if quiet and not (active or climbing):
                learner.learn(
                    event_time,
                    exposure,
                    category,
                    added,
                    self.policy,
                    raw_weight_milli if added else 0,
                )
                state.taught_rate = rates.factor * population[2]
            elif state.taught_rate is not None:
                learner.hold(event_time, exposure, state.taught_rate, self.policy)
        return Observation(sent, clock=clock)

    def _too_late(self, event_time: float, watermark: float) -> bool:
        """Whether a report stamped ``event_time`` is beyond the allowed lateness of a
        broadcast whose newest report is stamped ``watermark``, or before its window."""
        shape = self.shape
        return event_time < watermark - shape.allowed_lateness_seconds or shape.bucket_of(
            event_time
        ) < shape.first_bucket(watermark)

    def tick(self, state: BroadcastState, now: float) -> TickResult:
        """Resolve incidents quiet since ``resolve_after_quiet_seconds`` before ``now``.

        ``now`` is wall-clock time live and the replay's event-time watermark offline,
        moved back for a broadcast whose clock runs far behind its records
        (:func:`alerting.admission.broadcast_clock`). The state is evictable once no
        incident is open and every window has emptied. Every window is also expired and
        dropped once empty: a report only expires its own category's window, so on a
        long-lived broadcast the other categories would otherwise keep their old
        reporters and an empty window each until the whole broadcast went quiet. The
        shell ticks every tracked broadcast every second; most have nothing to do, and
        cost a few comparisons (:meth:`CategoryWindow.is_expired_by`).
        """
        shape = self.shape
        now = broadcast_clock(
            now, state.watermark, state.record_clock, shape.allowed_lateness_seconds
        )
        if state.incidents or state.coordination or state.windows_due(shape, now):
            return self._tick_in_full(state, now)
        return TickResult(evictable=state.is_idle)

    def _tick_in_full(self, state: BroadcastState, now: float) -> TickResult:
        """Every step of a tick: resolve quiet incidents, expire and drop windows."""
        if state.unrouted:
            self.routing.route_restored(state)
        result = TickResult()
        for incidents in (state.incidents, state.coordination):
            for incident in list(incidents.values()):
                if resolve_due(
                    incident, now, self.policy.lifecycle, self.shape.allowed_lateness_seconds
                ):
                    why = quiet_period(
                        incident.severity,
                        incident.escalation_class,
                        now - incident.last_active_at,
                        self.policy.lifecycle.resolve_after_quiet_seconds,
                    )
                    result.escalations.append(self._resolve(state, incidents, incident, why, now))
        state.expire_windows(self.shape, now)
        result.evictable = state.is_idle
        return result

    def _resolve(
        self,
        state: BroadcastState,
        incidents: dict[str, Incident],
        incident: Incident,
        why: Verdict,
        at: float,
    ) -> EscalationV2:
        close_incident(incident, at)
        del incidents[incident.team]
        if incidents is state.incidents and not incidents:
            state.restart_ramps()
        rates = self.expectation.rates(state, self.expectation.population(None))
        return escalation(
            self.policy, self.shape, state, incident, EventAction.RESOLVE, [why], at, rates
        )

    def _decide(
        self,
        state: BroadcastState,
        category: Category,
        window: CategoryWindow,
        rates: Rates,
        bucket: int,
        event_time: float,
        moment: float,
    ) -> tuple[list[EscalationV2], bool]:
        """Assess both views and move the incidents; also say whether anything was active."""
        sized = state.viewers is not None
        broadcast_wide = sized and category in self.abuse
        category_odds, broadcast_odds = self.views.of_report(
            state,
            category,
            window,
            rates,
            bucket,
            level_variation=state.history.level_variation(
                self.history_policy, self.figures.rate_variation
            ),
        )
        active: list[tuple[Assessment, tuple[Category, ...]]] = [
            (a, (category,)) for d in self.detectors if (a := _assess(d, category_odds)) is not None
        ]
        if broadcast_wide and category not in self.desk.paging:
            active = [self.desk.spike_named_beside(state, a, category) for a, _ in active]
        for detector in (
            ()
            if not broadcast_wide or adds_nothing(state, window, broadcast_odds, category_odds)
            else self.broadcast_detectors
        ):
            assessment = _assess(detector, broadcast_odds)
            if assessment is None:
                continue
            if assessment.signal is Signal.FIRE:
                active.append(self.desk.named_by_the_broadcast(state, assessment, category))
            else:
                active.append((assessment, (category,)))
        sent = self.desk.advance_abuse(
            state, active, category_odds, broadcast_odds, rates, event_time, moment
        )
        if state.incidents:
            for superseded in list(state.coordination.values()):
                leader = max(state.incidents.values(), key=lambda i: i.severity.rank)
                why = Verdict(
                    rule="abuse_incident_wins",
                    signal=Signal.FIRE,
                    severity=superseded.severity,
                    escalation_class=superseded.escalation_class,
                    reason=f"superseded by abuse incident {leader.dedup_key}",
                )
                sent.append(self._resolve(state, state.coordination, superseded, why, moment))
            return sent, True
        suspects_odds = broadcast_odds if broadcast_wide else category_odds
        coordination = [
            a
            for d in (self.coordination_detectors if sized else ())
            if (a := _assess(d, suspects_odds)) is not None
        ]
        if coordination:
            sent += self.desk.advance_coordination(
                state, coordination, suspects_odds, rates, event_time, moment
            )
        return sent, bool(active or coordination)

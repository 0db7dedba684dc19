"""A broadcast's incidents as its signals move them: one broadcast in trouble, one page.

Abuse incidents are keyed by broadcast and routed team. The strongest FIRE of a report
goes to the incident of its team; failing that, to the most severe open incident unless
it is *strictly more* severe than every open one (a credible child-safety report on a
broadcast already in a harassment incident), when the other team gets its own trigger
and the two name each other in ``related``. A category whose policy gives it its
``own_team`` (child safety, by default) gets its team's trigger on a broadcast in
another team's incident of any severity: a team with reporting duties of its own
cannot discharge them through an update to another team's page (nor through the
high-profile team's: :mod:`alerting.routing`). A category joining,
the severity rising, or a spike or credible report on an incident only a ramp has seen,
is an ``update``.
The broadcast-wide view names its *leading* category: the heaviest of the most severe
abuse categories that hold a fair share of the weighted reporters
(:data:`LEADING_SHARE`) together with the graver ones.

Coordinated reporting is its own track (:meth:`IncidentDesk.advance_coordination`),
on its own team, never paging.

The detectors explain themselves (an escalation's evidence) only here, and only for
an escalation that is actually sent.
"""

from __future__ import annotations

from collections.abc import Sequence

from alerting.detectors import Assessment, Detector, Signal, category_severity
from alerting.evidence import Rates, escalation
from alerting.incidents import (
    Incident,
    note_related,
    on_active_signal,
    open_incident,
    too_late_to_page,
)
from alerting.policy import Policy
from alerting.reporter_mark import WEIGHT_UNIT
from alerting.routing import Routing
from alerting.state import BroadcastState
from alerting.views import ViewOdds
from alerting.window_shape import WindowShape
from models.escalation import EscalationClass, EventAction, Severity
from models.escalation_v2 import EscalationV2
from models.report import Category

LEADING_SHARE = 0.2
"""A category leads the broadcast-wide view only with at least this share of its weight."""


class _Candidate:
    """A FIRE on one view, routed: where it would page and which categories it names."""

    __slots__ = ("assessment", "categories", "severity", "team")

    def __init__(
        self,
        assessment: Assessment,
        severity: Severity,
        team: str,
        categories: tuple[Category, ...],
    ) -> None:
        self.assessment = assessment
        self.severity = severity
        self.team = team
        self.categories = categories


def _not_paging(severity: Severity, late: bool) -> Severity:
    """``severity``, held at ``warning`` for a signal decided too late to page
    (:func:`alerting.incidents.too_late_to_page`)."""
    return Severity.WARNING if late and severity.pages else severity


class IncidentDesk:
    """The engine's detectors explain the escalations sent; ``abuse`` are the categories
    the broadcast-wide view counts (:func:`alerting.policy.abuse_categories`)."""

    def __init__(
        self,
        policy: Policy,
        shape: WindowShape,
        routing: Routing,
        detectors: Sequence[Detector],
        broadcast_detectors: Sequence[Detector],
        coordination_detectors: Sequence[Detector],
        abuse: frozenset[Category],
    ) -> None:
        self.policy = policy
        self.shape = shape
        self.routing = routing
        self.detectors = tuple(detectors)
        self.broadcast_detectors = tuple(broadcast_detectors)
        self.coordination_detectors = tuple(coordination_detectors)
        self.abuse = abuse
        severities = {c: category_severity(c, policy) for c in Category}
        self.ranks = {c: severity.rank for c, severity in severities.items()}
        """Each category's severity rank, read once: :meth:`leading` runs on every report
        of a broadcast whose broadcast-wide view fires."""
        self.paging = frozenset(c for c, severity in severities.items() if severity.pages)
        self.own_team = frozenset(c for c in Category if policy.category(c).own_team)

    def leading(self, state: BroadcastState) -> tuple[Category, ...]:
        """The categories the broadcast-wide view names, leading one first (see the module doc);
        a category that cannot page (spam) never joins one that can.

        The incident's severity is the highest at which the categories of that severity or
        above hold a fair share together, and its leading category the heaviest of that
        severity. Asked of each category alone, a surge spread evenly over three paging
        categories and ``other`` could leave each paging one just short of the share while
        ``other``, no heavier than their sum, held it, and the broadcast's incident opened
        at ``other``'s warning: on-call was paged only at the next report. A stray report
        in a graver category still leads nothing on its own.
        """
        total = state.combined.weight_milli
        floor = max(WEIGHT_UNIT, LEADING_SHARE * total)
        weights = {
            c: w.weight_milli
            for c, w in state.windows.items()
            if w.weight_milli > 0 and c in self.abuse
        }
        if not weights:
            return ()
        ranks = self.ranks
        ordered = sorted(weights, key=lambda c: (ranks[c], weights[c]), reverse=True)
        held = 0
        for category in ordered:
            held += weights[category]
            if held >= floor:
                level = ranks[category]
                leader = next(c for c in ordered if ranks[c] == level)
                break
        else:
            leader = max(weights, key=lambda c: weights[c])
        paging = self.paging
        joined = (c for c in ordered if c is not leader and weights[c] >= floor and c in paging)
        return (leader, *joined)

    def named_by_the_broadcast(
        self, state: BroadcastState, assessment: Assessment, category: Category
    ) -> tuple[Assessment, tuple[Category, ...]]:
        """A FIRE as the broadcast-wide view names it: its severity that of the leading
        category (:meth:`leading`), ``category`` (the report's) where no abuse category leads."""
        named = self.leading(state) or (category,)
        severity = category_severity(named[0], self.policy)
        return Assessment(assessment.signal, severity, assessment.escalation_class), named

    def spike_named_beside(
        self, state: BroadcastState, assessment: Assessment, category: Category
    ) -> tuple[Assessment, tuple[Category, ...]]:
        """A spike in an abuse category that does not page on its own (``other``: viewers
        who could not name the abuse) named as the broadcast-wide view names its incidents
        (:meth:`named_by_the_broadcast`), never below its own severity: by the paging
        categories that hold a fair share of the broadcast's reporters beside it, and only
        led by ``other`` where they do not. Had the broadcast-wide view fired on the same
        reporters it would have paged; it did not because its expectation, every abuse
        category's rate together, is the larger, and a surge filed mostly under ``other`` on
        a broadcast whose level is not yet known stayed a warning while the reporters who
        named harassment or threats beside it never reached their own marks."""
        own = (assessment, (category,))
        if (
            assessment.signal is not Signal.FIRE
            or assessment.escalation_class is not EscalationClass.REPORT_SPIKE
        ):
            return own
        named = self.named_by_the_broadcast(state, assessment, category)
        return named if named[0].severity.rank > assessment.severity.rank else own

    def advance_abuse(
        self,
        state: BroadcastState,
        active: list[tuple[Assessment, tuple[Category, ...]]],
        category_odds: ViewOdds,
        broadcast_odds: ViewOdds,
        rates: Rates,
        event_time: float,
        moment: float,
    ) -> list[EscalationV2]:
        """Open, update or keep alive the broadcast's abuse incidents on one report's signals.

        The detectors explain themselves (the escalation's evidence) only when an
        escalation is sent.
        """
        if not active:
            return []
        lifecycle = self.policy.lifecycle
        late = too_late_to_page(state.watermark, state.record_clock, moment, lifecycle) is not None
        fired = [
            _Candidate(
                assessment,
                _not_paging(self.routing.severity(state, named[0], assessment), late),
                self.routing.team(state, True, named[0]),
                named,
            )
            for assessment, named in active
            if assessment.signal is Signal.FIRE
        ]
        strongest = max(fired, key=lambda c: c.severity.rank) if fired else None
        actions: list[tuple[Incident, EventAction]] = []
        target: Incident | None = None
        if strongest is not None:
            target = state.incidents.get(strongest.team)
            if target is None and state.incidents and strongest.categories[0] not in self.own_team:
                most = max(state.incidents.values(), key=lambda i: i.severity.rank)
                if strongest.severity.rank <= most.severity.rank:
                    target = most
            if target is None:
                target = open_incident(
                    state.broadcast_id,
                    strongest.team,
                    list(strongest.categories),
                    strongest.assessment.escalation_class,
                    strongest.severity,
                    event_time,
                    state.last_incident_key_ms.get(strongest.team),
                )
                others = list(state.incidents.values())
                state.incidents[target.team] = target
                state.last_incident_key_ms[target.team] = target.key_ms
                actions.append((target, EventAction.TRIGGER))
                actions += [(other, note_related(other, event_time)) for other in others]
            else:
                counted = [
                    f for f in (strongest, *fired) if f.severity.pages or not target.severity.pages
                ]
                named = tuple(dict.fromkeys(c for f in counted for c in f.categories))
                kinds = tuple(f.assessment.escalation_class for f in counted)
                action = on_active_signal(
                    target, strongest.severity, event_time, lifecycle, named, kinds
                )
                if action is not None:
                    actions.append((target, action))
        for incident in list(state.incidents.values()):
            if incident is target:
                continue
            action = on_active_signal(incident, None, event_time, lifecycle)
            if action is not None:
                actions.append((incident, action))
        if not actions:
            return []
        verdicts = [detector.explain(category_odds) for detector in self.detectors]
        verdicts += [detector.explain(broadcast_odds) for detector in self.broadcast_detectors]
        return [
            escalation(self.policy, self.shape, state, incident, action, verdicts, moment, rates)
            for incident, action in actions
        ]

    def advance_coordination(
        self,
        state: BroadcastState,
        active: list[Assessment],
        odds: ViewOdds,
        rates: Rates,
        event_time: float,
        moment: float,
    ) -> list[EscalationV2]:
        """Open or keep alive the broadcast's coordination incident. ``odds`` is the view the
        detector judged: the broadcast-wide one, or, for a report in a low-harm category
        (which the broadcast-wide window does not hold), that category's own."""
        team = self.policy.coordination.team
        incident = state.coordination.get(team)
        fired = [a for a in active if a.signal is Signal.FIRE]
        strongest = max(fired, key=lambda a: a.severity.rank) if fired else None
        named = (self.leading(state) if odds.view.all_categories else ()) or (odds.view.category,)
        if incident is None:
            if strongest is None:
                return []
            incident = open_incident(
                state.broadcast_id,
                team,
                list(named),
                strongest.escalation_class,
                strongest.severity,
                event_time,
                state.last_coordination_key_ms.get(team),
            )
            state.coordination[team] = incident
            state.last_coordination_key_ms[team] = incident.key_ms
            action: EventAction | None = EventAction.TRIGGER
        else:
            severity = strongest.severity if strongest is not None else None
            action = on_active_signal(incident, severity, event_time, self.policy.lifecycle)
        if action is None:
            return []
        verdicts = [detector.explain(odds) for detector in self.coordination_detectors]
        return [
            escalation(self.policy, self.shape, state, incident, action, verdicts, moment, rates)
        ]

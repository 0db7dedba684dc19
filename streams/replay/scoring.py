"""Scoring decisions against a labelled report log, and the fixed-threshold rule to beat.

Replay feeds this module the labels that travel with a scenario (see
``streams/replay/scenarios/``) and the triggers a policy produced. Scoring is per
incident, the unit on-call cares about, and an incident belongs to a broadcast
(Escalation v2 opens one per broadcast and team; a v1 trigger per category is
scored against the same broadcast incident, so its extra categories count as
extra pages):

* a trigger on a broadcast belongs to the latest labelled incident of that
  broadcast whose onset is not after the trigger (preferring one whose reports
  include the trigger's category, so that a child-safety page on a broadcast
  already in a surge goes to its own incident);
* an *abuse* incident (surge, spread surge, ramp, single child-safety report)
  is detected by a paging trigger (``critical``/``error``); recall = detected /
  abuse incidents; warnings never count;
* pages per incident: an abuse incident should get exactly one paging trigger
  (a second team paged for a strictly more severe category is labelled as an
  incident of its own);
* any other paging trigger is a *false page* (benign, viral, raided, repeat
  clicker or campaign broadcasts, or an abuse broadcast before the abuse began);
  a *campaign* (coordinated incident) must never page, and is *classed* when a
  ``coordinated_reporting`` trigger names it;
* detection delay = decision time - onset, where the decision time is when the
  deciding report reached Kafka (replay stamps it from the record timestamp),
  and the onset is when the incident's first report was made (its true time,
  whatever the device clock said); an incident's delivery lag is the median of
  its reports' record timestamp minus the time they were made.

* an abuse incident's *floor* is when its own reporters, each counted once and weighed
  as the policy weighs them, first reached the spike's floor (``min_distinct_reporters``
  weighted reporters) on Kafka: no page from its evidence alone can come sooner, so a
  delay target below it is out of reach of any rule that holds the floor. It is measured
  for every abuse incident, detected or not, and is the traffic's, not the rule's;

* an incident's *time open after the abuse* runs from its last report's true time to
  when the incident it paged was resolved (its first paging trigger's ``dedup_key``):
  on-call's open list and the paging tool's auto-resolve follow it. The least it can be
  is the quiet period and the allowed lateness after the last signal; a surge's
  reporters can keep the low mark crossed for up to the window after its last report.

The fixed-threshold rule (:mod:`streams.replay.fixed_rule`) is the yardstick on the
same log.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from models.escalation import EscalationClass, EventAction
from models.escalation_v2 import EscalationV2, parse_escalation
from streams.replay.labels import LabelKind, LabelledLog, LabelledReport, Trigger

LATE_LAG_SECONDS = 5.0
"""An incident whose reports reached Kafka this much later (median) is a late one."""
SURGE_KINDS = (LabelKind.SURGE, LabelKind.SPREAD_SURGE)
"""The incidents the spike's floor bounds: a ramp pages on its own statistic, a single
child-safety report on its credibility."""


@dataclass(frozen=True, slots=True)
class ScoreCard:
    abuse_incidents: int
    detected: int
    pages: int
    false_pages: int
    hours: float
    abuse_pages: int
    """Paging triggers that belong to an abuse incident (the first and any repeats)."""
    incidents_paged_once: int
    coordinated_incidents: int
    coordinated_classed: int
    campaigns_paged: int
    false_pages_by_kind: dict[str, int]
    delays_by_kind: dict[str, list[float]]
    lags_by_kind: dict[str, list[float]]
    """Delivery lag of each detected incident, in the order of ``delays_by_kind``."""
    missed: list[str]
    open_after: list[float] = field(default_factory=list)
    """Seconds each detected incident stayed open after its abuse's last report (those whose
    incidents were resolved, when the resolves were scored: see the module doc)."""
    never_resolved: int = 0
    """Detected incidents whose incident was not resolved by the end of the log."""
    floor: int = 0
    """The spike's floor in weighted reporters that ``floors_by_kind`` was measured at."""
    floors_by_kind: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    """(Seconds from the onset to the incident's floor, infinite if its reporters never
    weighed that much; its delivery lag) of every abuse incident, detected or not."""

    @property
    def recall(self) -> float:
        return self.detected / self.abuse_incidents if self.abuse_incidents else 1.0

    @property
    def precision(self) -> float:
        return (self.pages - self.false_pages) / self.pages if self.pages else 1.0

    @property
    def false_pages_per_hour(self) -> float:
        return self.false_pages / self.hours if self.hours else 0.0

    @property
    def pages_per_incident(self) -> float | None:
        return self.abuse_pages / self.detected if self.detected else None

    def open_after_abuse(self) -> tuple[float, float] | None:
        """Median and longest time open after the abuse ended (None: nothing resolved)."""
        if not self.open_after:
            return None
        return round(statistics.median(self.open_after), 3), round(max(self.open_after), 3)

    def delays(self, *kinds: LabelKind) -> list[float]:
        """Delays of the detected incidents whose reports reached Kafka on time.

        An incident delivered late cannot be paged before its reports arrive; it has its
        own target, its delay against its delivery lag (:meth:`late`), and pooled here it
        would measure the delivery path rather than the detector.
        """
        return sorted(d for d, lag in self.delays_and_lags(*kinds) if lag < LATE_LAG_SECONDS)

    def median_delay(self, *kinds: LabelKind) -> float | None:
        delays = self.delays(*kinds)
        return round(statistics.median(delays), 3) if delays else None

    def p90_delay(self, *kinds: LabelKind) -> float | None:
        delays = self.delays(*kinds)
        return round(delays[min(len(delays) - 1, int(0.9 * len(delays)))], 3) if delays else None

    def max_delay(self, *kinds: LabelKind) -> float | None:
        delays = self.delays(*kinds)
        return max(delays) if delays else None

    def delays_and_lags(self, *kinds: LabelKind) -> list[tuple[float, float]]:
        """(delay, delivery lag) of each detected incident of ``kinds``."""
        return [
            pair
            for kind in kinds
            for pair in zip(
                self.delays_by_kind.get(kind.value, []),
                self.lags_by_kind.get(kind.value, []),
                strict=True,
            )
        ]

    def late(self, *kinds: LabelKind) -> list[tuple[float, float]]:
        """(delay, delivery lag) of the detected incidents whose reports reached Kafka late."""
        return [pair for pair in self.delays_and_lags(*kinds) if pair[1] >= LATE_LAG_SECONDS]

    def median_floor(self, *kinds: LabelKind) -> float | None:
        """Median seconds to the floor of the incidents of ``kinds`` delivered on time
        (infinite when most never reached it; None: no such incident)."""
        floors = [floor for floor, lag in self.floors(*kinds) if lag < LATE_LAG_SECONDS]
        return round(statistics.median(floors), 3) if floors else None

    def floors(self, *kinds: LabelKind) -> list[tuple[float, float]]:
        """(Seconds to the floor, delivery lag) of every abuse incident of ``kinds``."""
        return [pair for kind in kinds for pair in self.floors_by_kind.get(kind.value, [])]

    def late_floors(self, *kinds: LabelKind) -> list[tuple[float, float]]:
        """:meth:`floors` of the incidents whose reports reached Kafka late."""
        return [pair for pair in self.floors(*kinds) if pair[1] >= LATE_LAG_SECONDS]

    @classmethod
    def combined(cls, cards: Iterable[ScoreCard]) -> ScoreCard:
        """One card for several logs (e.g. seeds): counts add up, delays pool."""
        cards = list(cards)
        by_kind: dict[str, int] = defaultdict(int)
        delays: dict[str, list[float]] = defaultdict(list)
        lags: dict[str, list[float]] = defaultdict(list)
        floors: dict[str, list[tuple[float, float]]] = defaultdict(list)
        for card in cards:
            for kind, count in card.false_pages_by_kind.items():
                by_kind[kind] += count
            for kind, values in card.delays_by_kind.items():
                delays[kind].extend(values)
                lags[kind].extend(card.lags_by_kind[kind])
            for kind, pairs in card.floors_by_kind.items():
                floors[kind].extend(pairs)
        return cls(
            abuse_incidents=sum(c.abuse_incidents for c in cards),
            detected=sum(c.detected for c in cards),
            pages=sum(c.pages for c in cards),
            false_pages=sum(c.false_pages for c in cards),
            hours=sum(c.hours for c in cards),
            abuse_pages=sum(c.abuse_pages for c in cards),
            incidents_paged_once=sum(c.incidents_paged_once for c in cards),
            coordinated_incidents=sum(c.coordinated_incidents for c in cards),
            coordinated_classed=sum(c.coordinated_classed for c in cards),
            campaigns_paged=sum(c.campaigns_paged for c in cards),
            false_pages_by_kind=dict(by_kind),
            delays_by_kind=dict(delays),
            lags_by_kind=dict(lags),
            missed=[name for c in cards for name in c.missed],
            open_after=[seconds for c in cards for seconds in c.open_after],
            never_resolved=sum(c.never_resolved for c in cards),
            floor=max((c.floor for c in cards), default=0),
            floors_by_kind=dict(floors),
        )

    def as_dict(self) -> dict[str, object]:
        per_incident = self.pages_per_incident
        return {
            "abuse_incidents": self.abuse_incidents,
            "detected": self.detected,
            "recall": round(self.recall, 4),
            "missed": self.missed,
            "pages": self.pages,
            "false_pages": self.false_pages,
            "precision": round(self.precision, 4),
            "false_pages_per_hour": round(self.false_pages_per_hour, 3),
            "false_pages_by_kind": self.false_pages_by_kind,
            "pages_per_incident": None if per_incident is None else round(per_incident, 3),
            "incidents_paged_once": self.incidents_paged_once,
            "coordinated_incidents": self.coordinated_incidents,
            "coordinated_classed": self.coordinated_classed,
            "campaigns_paged": self.campaigns_paged,
            "median_delay_seconds": {
                kind.value: self.median_delay(kind) for kind in LabelKind if kind.is_abuse
            },
            "p90_delay_seconds": {
                kind.value: self.p90_delay(kind) for kind in LabelKind if kind.is_abuse
            },
            "max_delay_seconds": {
                kind.value: self.max_delay(kind) for kind in LabelKind if kind.is_abuse
            },
            "floor_weighted_reporters": self.floor,
            "median_floor_seconds": {
                kind.value: _finite(self.median_floor(kind)) for kind in SURGE_KINDS
            },
            "late_floors": [
                {"floor_seconds": _finite(floor), "delivery_lag_seconds": lag}
                for floor, lag in self.late_floors(*SURGE_KINDS)
            ],
            "open_after_abuse_seconds": self.open_after_abuse(),
            "never_resolved": self.never_resolved,
            "late_incidents": [
                {"delay_seconds": round(delay, 3), "delivery_lag_seconds": round(lag, 3)}
                for delay, lag in self.late(*(kind for kind in LabelKind if kind.is_abuse))
            ],
        }


def _finite(seconds: float | None) -> float | None:
    """JSON has no infinity: an incident that never reached its floor is null."""
    return None if seconds is None or math.isinf(seconds) else seconds


def triggers_of(escalations: Iterable[EscalationV2]) -> list[Trigger]:
    return [Trigger.of(e) for e in escalations if e.event_action is EventAction.TRIGGER]


def triggers_of_wire(lines: Iterable[bytes]) -> list[Trigger]:
    """Triggers from escalations in their wire form, v1 or v2 (e.g. a worker's output)."""
    return triggers_of(parse_escalation(line) for line in lines if line.strip())


def score(
    labels: list[LabelledReport],
    triggers: list[Trigger],
    resolves: Mapping[str, float] | None = None,
    *,
    floor: int,
) -> ScoreCard:
    """``resolves`` maps the ``dedup_key`` of each resolved incident to when it was resolved;
    without them (the fixed rule, a worker's output scored alone) nothing is open or closed.
    ``floor`` is the spike's floor in weighted reporters (the policy's
    ``spike.min_distinct_reporters``), at which each incident's floor is measured."""
    log = LabelledLog.of(labels)
    incidents, kinds = log.incidents, log.kinds
    pages = false_pages = 0
    false_by_kind: dict[str, int] = defaultdict(int)
    for trigger in triggers:
        owner = log.owner(trigger)
        if owner is not None:
            owner.triggers.append(trigger)
        if not trigger.severity.pages:
            continue
        pages += 1
        if owner is None or not owner.kind.is_abuse:
            false_pages += 1
            kind = owner.kind if owner is not None else kinds.get(trigger.broadcast_id)
            false_by_kind[kind.value if kind is not None else "unlabelled"] += 1
    abuse = [i for i in incidents.values() if i.kind.is_abuse]
    campaigns = [i for i in incidents.values() if i.kind is LabelKind.COORDINATED]
    delays: dict[str, list[float]] = defaultdict(list)
    lags: dict[str, list[float]] = defaultdict(list)
    detected = abuse_pages = paged_once = never_resolved = 0
    missed = []
    open_after: list[float] = []
    floors: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for incident in abuse:
        lag = round(statistics.median(incident.lags), 3)
        to_floor = incident.floor_reached(floor) - incident.onset
        floors[incident.kind.value].append((round(max(0.0, to_floor), 3), lag))
        paged = sorted((t for t in incident.triggers if t.severity.pages), key=lambda t: t.at)
        abuse_pages += len(paged)
        if not paged:
            missed.append(incident.name)
            continue
        detected += 1
        paged_once += len(paged) == 1
        delay = round(max(0.0, paged[0].at - incident.onset), 3)
        delays[incident.kind.value].append(delay)
        lags[incident.kind.value].append(lag)
        if resolves is not None:
            closed = [resolves[t.dedup_key] for t in paged if t.dedup_key in resolves]
            if len(closed) < len(paged):
                never_resolved += 1
            else:
                open_after.append(round(max(closed) - incident.ended, 3))
    times = [label.delivered_at for label in labels]
    return ScoreCard(
        abuse_incidents=len(abuse),
        detected=detected,
        pages=pages,
        false_pages=false_pages,
        hours=(max(times) - min(times)) / 3600 if times else 0.0,
        abuse_pages=abuse_pages,
        incidents_paged_once=paged_once,
        coordinated_incidents=len(campaigns),
        coordinated_classed=sum(
            1
            for i in campaigns
            if any(t.escalation_class is EscalationClass.COORDINATED_REPORTING for t in i.triggers)
        ),
        campaigns_paged=sum(1 for i in campaigns if any(t.severity.pages for t in i.triggers)),
        false_pages_by_kind=dict(false_by_kind),
        delays_by_kind=dict(delays),
        lags_by_kind=dict(lags),
        missed=sorted(missed),
        open_after=open_after,
        never_resolved=never_resolved,
        floor=floor,
        floors_by_kind=dict(floors),
    )

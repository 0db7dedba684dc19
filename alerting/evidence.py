"""What an escalation tells on-call: the evidence of one incident, built from a decision.

Built only for an escalation that is actually sent (a few per incident), never per
report: the engine decides on assessments and comes here for the full event, so
how the evidence reads can change without touching how the decision is taken.
The expectations here are the decision's own (:class:`Rates`), so the figures
on-call reads are the ones that decided.
"""

from __future__ import annotations

from datetime import UTC, datetime

from alerting.detectors import Signal, Verdict
from alerting.incidents import Incident, decided_too_late, event_id_for, too_late_to_page
from alerting.policy import Policy, abuse_categories
from alerting.reporter_mark import WEIGHT_UNIT
from alerting.state import BroadcastState
from alerting.window import CategoryWindow
from alerting.window_shape import WindowShape
from models.escalation import EscalationLabels, EventAction
from models.escalation_v2 import (
    MAX_RULES,
    MAX_SERIES_POINTS,
    MAX_SUMMARY_LENGTH,
    CategoryEvidence,
    EscalationV2,
    EvidenceV2,
    SeriesPoint,
    TrustMix,
)
from models.report import Category


class Rates:
    """The rates one decision used: per category and their sum over the abuse categories,
    already scaled by the broadcast's own history (``factor``, its level, and ``tilt``, the
    categories it over-reports beyond its level). ``own_weight`` is, for a broadcast of
    unknown audience, the weighted reporters its scale comes from (0: the audience is
    known)."""

    __slots__ = ("abuse_rate", "audience", "by_category", "factor", "own_weight", "tilt", "total")

    def __init__(
        self,
        by_category: dict[Category, float],
        total: float,
        factor: float,
        audience: int,
        own_weight: float = 0.0,
        tilt: dict[Category, float] | None = None,
        abuse: frozenset[Category] = frozenset(),
    ) -> None:
        self.by_category = by_category
        self.total = total
        self.factor = factor
        self.audience = audience
        self.own_weight = own_weight
        self.tilt = tilt
        abuse_rate = total
        if tilt:
            for category, tilted in tilt.items():
                if category in abuse:
                    abuse_rate += by_category[category] * (tilted - 1.0)
        self.abuse_rate = abuse_rate * factor
        """The broadcast-wide view's rate: the abuse categories' scaled rates summed."""

    def of(self, category: Category) -> float:
        rate = self.by_category[category] * self.factor
        tilt = self.tilt
        if tilt:
            return rate * tilt.get(category, 1.0)
        return rate

    def level_of(self, category: Category) -> float:
        """The category's rate at the broadcast's level, without its tilt: what the ramp's
        window condition reads, since the tilt follows a climb within a minute (the ramp's
        CUSUM applies a reference of its own, :mod:`alerting.ramp`)."""
        return self.by_category[category] * self.factor


def _utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


def escalation(
    policy: Policy,
    shape: WindowShape,
    state: BroadcastState,
    incident: Incident,
    action: EventAction,
    verdicts: list[Verdict],
    moment: float,
    rates: Rates,
) -> EscalationV2:
    """The v2 event of ``incident``: the window it was judged on, every category's share,
    the trust mix and the series a chart draws, as the rates of the decision saw them.

    The window is the broadcast-wide one across the abuse categories, or, for an
    incident in a low-harm category (a spam campaign), that category's own: the
    broadcast-wide window does not hold it.
    """
    window_seconds = shape.length_seconds
    if incident.category in abuse_categories(policy):
        combined = state.combined
        rate = rates.abuse_rate
        scope = "across the abuse categories"
    else:
        combined = state.windows.get(incident.category, state.combined)
        rate = rates.of(incident.category)
        scope = f"in {incident.category.value}"
    expected = rate * rates.audience * window_seconds
    window_end = state.watermark if state.watermark is not None else moment
    first_bucket = shape.first_bucket(window_end)
    resolving = action is EventAction.RESOLVE
    categories = sorted(
        (
            CategoryEvidence(
                category=category,
                reports=window.reports,
                distinct_reporters=window.distinct_reporters,
                weighted_reporters=window.weighted_reporters,
                expected_reports=round(rates.of(category) * rates.audience * window_seconds, 6),
            )
            for category, window in state.windows.items()
            if not window.is_empty
        ),
        key=lambda evidence: (-evidence.weighted_reporters, evidence.category.value),
    )
    distinct = combined.distinct_reporters
    suspect_share = combined.suspect_reporters / distinct if distinct else 0.0
    trusted_share = combined.credible_reporters / distinct if distinct else 0.0
    unknown_share = combined.unknown_reporters / distinct if distinct else 0.0
    related = (
        [i.dedup_key for i in state.incidents.values() if i is not incident]
        if incident.escalation_class.is_abuse
        else []
    )
    series = None
    if not resolving:
        bucket_expected = rates.abuse_rate * rates.audience * shape.bucket_seconds
        newest = shape.bucket_of(window_end)
        series = [
            SeriesPoint(
                bucket_start=_utc(bucket * shape.bucket_seconds),
                weighted_reporters=combined.bucket_weights.get(bucket, 0) / WEIGHT_UNIT,
                expected=round(bucket_expected, 6),
            )
            for bucket in range(max(first_bucket, newest - MAX_SERIES_POINTS + 1), newest + 1)
        ]
    category = incident.category
    behind = too_late_to_page(state.watermark, state.record_clock, moment, policy.lifecycle)
    rules = [verdict.as_rule_firing() for verdict in verdicts]
    if behind is not None and not resolving:
        rules.insert(0, decided_too_late(behind, policy.lifecycle))
    return EscalationV2(
        event_id=event_id_for(incident.dedup_key, incident.sequence),
        dedup_key=incident.dedup_key,
        sequence=incident.sequence,
        event_action=action,
        severity=incident.severity,
        escalation_class=incident.escalation_class,
        summary=_summary(
            state,
            incident,
            action,
            combined,
            expected,
            scope,
            verdicts,
            behind,
        ),
        labels=EscalationLabels(
            broadcast_id=state.broadcast_id,
            broadcaster_id=state.broadcaster_id,
            category=category,
            platform=state.platform,
            media_type=state.media_type,
            region=state.region,
            team=incident.team,
        ),
        evidence=EvidenceV2(
            reports=combined.reports,
            distinct_reporters=distinct,
            weighted_reporters=combined.weighted_reporters,
            viewers=state.viewers,
            expected_reports=round(expected, 6),
            window_start=_utc(first_bucket * shape.bucket_seconds),
            window_end=_utc(window_end),
            leading_category=category,
            categories=categories,
            trust_mix=TrustMix(
                trusted=trusted_share,
                ordinary=(
                    max(0.0, 1.0 - trusted_share - suspect_share - unknown_share)
                    if distinct
                    else 0.0
                ),
                suspect=suspect_share,
                unknown=unknown_share,
            ),
            coordinated_share=(0.0 if incident.escalation_class.is_abuse else suspect_share),
            sample_report_ids=list(combined.sample_report_ids),
            rules=rules[:MAX_RULES],
            series=series,
        ),
        related=related,
        runbook_url=policy.category(category).runbook_url,
        detected_at=_utc(moment),
        starts_at=_utc(incident.opened_at),
        ends_at=_utc(moment) if resolving else None,
        policy_version=policy.policy_version,
    )


def _summary(
    state: BroadcastState,
    incident: Incident,
    action: EventAction,
    combined: CategoryWindow,
    expected: float,
    scope: str,
    verdicts: list[Verdict],
    behind: float | None,
) -> str:
    """One line for the page: what fired, then the window it was judged on, named, since a
    single credible report beside a broadcast-wide expectation of one or two would
    otherwise read as nothing unusual; and, for a signal decided too late to page
    (``behind``), how late, since its severity alone would not say why it did not page."""
    names = ", ".join(c.value for c in incident.categories) or incident.category.value
    subject = f"{names} on broadcast {state.broadcast_id}"
    if action is EventAction.RESOLVE:
        return f"Resolved: {subject}: no detector above its low mark since the last signal"
    reasons = "; ".join(v.reason for v in verdicts if v.signal is Signal.FIRE) or "still active"
    prefix = "Updated" if action is EventAction.UPDATE else incident.escalation_class.value
    reports = f"{combined.reports} report{'' if combined.reports == 1 else 's'}"
    late = (
        ""
        if behind is None
        else f"not paged, decided {behind:.0f} s after the broadcast's newest report: "
    )
    return (
        f"{prefix}: {subject}: {late}{reasons} "
        f"({reports} {scope} in the window, {expected:.2f} expected)"
    )[:MAX_SUMMARY_LENGTH]

"""The independent generator: valid lines, honest labels, every confounder at about its
share, and every incident meeting its criteria (so none is undetectable by construction).
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from functools import cache
from itertools import pairwise

import orjson
import pytest

from alerting.policy import load_policy
from alerting.views import PolicyFigures
from models.report import ReportEvent
from streams.replay.independent import (
    INDEPENDENT_SCENARIOS,
    World,
    build_independent,
    build_world,
)
from streams.replay.independent.broadcasts import Tier, ViewerMode
from streams.replay.independent.criteria import Flavour, Record, incident_holds, records_of
from streams.replay.independent.params import RATE_BAND, draw_rates
from streams.replay.labels import LabelKind
from streams.replay.session import label_of

START = 1_750_000_000.0
SEEDS = (1, 2, 3, 4, 5)
FIGURES = PolicyFigures(load_policy())


@cache
def world(seed: int) -> World:
    return build_world(seed, START)


@cache
def records(seed: int) -> list[Record]:
    return records_of(world(seed).messages)


def all_records() -> list[Record]:
    return [r for seed in SEEDS for r in records(seed)]


def by_broadcast(seed: int) -> dict[str, list[Record]]:
    grouped: dict[str, list[Record]] = defaultdict(list)
    for record in records(seed):
        grouped[record.broadcast_id].append(record)
    return grouped


def test_same_seed_same_bytes_and_seeds_differ() -> None:
    first = build_independent("independent", seed=7, start=START)
    again = build_independent("independent", seed=7, start=START)
    other = build_independent("independent", seed=8, start=START)
    assert [(m.at, m.delivered_at, m.key, m.value) for m in first] == [
        (m.at, m.delivered_at, m.key, m.value) for m in again
    ]
    assert [m.value for m in first] != [m.value for m in other]
    assert INDEPENDENT_SCENARIOS == ("independent",)
    with pytest.raises(ValueError, match="unknown"):
        build_independent("real_world", seed=1, start=START)


@pytest.mark.parametrize("seed", SEEDS)
def test_lines_validate_and_parse(seed: int) -> None:
    messages = world(seed).messages
    assert 500 <= len(messages) <= 60_000
    malformed = 0
    for message in messages:
        assert b"\n" not in message.value
        try:
            payload = orjson.loads(message.value)
        except orjson.JSONDecodeError:
            malformed += 1
            continue
        if "label" not in payload:
            malformed += 1
            assert "kafka_timestamp_ms" not in payload
            with pytest.raises(ValueError, match="validation error"):
                ReportEvent.model_validate_json(message.value)
            continue
        event = ReportEvent.model_validate_json(message.value)
        assert message.key == event.broadcast_id.encode()
        assert event.comment is None
        timestamp_ms = payload["kafka_timestamp_ms"]
        label = label_of(message.value, FIGURES, timestamp_ms)
        assert label is not None
        assert label.at == pytest.approx(message.at, abs=1e-3)
        assert timestamp_ms / 1000 == pytest.approx(message.delivered_at, abs=1e-3)
        assert label.delivered_at >= label.at
        assert ("made_at" in payload["label"]) == (event.event_time != label.at)
    assert 4 <= malformed <= 10


@pytest.mark.parametrize("seed", SEEDS)
def test_ordered_by_record_timestamp_never_before_made(seed: int) -> None:
    messages = world(seed).messages
    assert all(a.delivered_at <= b.delivered_at for a, b in pairwise(messages))
    assert all(m.delivered_at >= m.at for m in messages)


def test_platform_rate_band() -> None:
    drawn = [draw_rates(random.Random(f"independent:{seed}")) for seed in range(1, 400)]
    low, high = RATE_BAND
    assert all(low <= r.rate <= high for r in drawn)
    assert min(r.rate for r in drawn) < 3 * low
    assert max(r.rate for r in drawn) > high / 3
    assert all(1.0 <= r.evening <= 3.0 for r in drawn)
    assert any(r.evening > 2.5 for r in drawn)
    for seed in SEEDS:
        w = world(seed)
        ordinary = {LabelKind.BACKGROUND, LabelKind.VIRAL, LabelKind.RAID}
        count = sum(1 for r in records(seed) if r.kind in ordinary)
        realised = count / w.viewer_seconds()
        assert 0.6 * w.rates.rate <= realised <= 1.2 * w.rates.rate * w.rates.evening


@pytest.mark.parametrize("seed", SEEDS)
def test_platform_shape(seed: int) -> None:
    w = world(seed)
    assert 1500 <= len(w.broadcasts) <= 2500
    huge = [b for b in w.broadcasts if b.tier is Tier.HUGE]
    assert 2 <= len(huge) <= 4
    assert all(140_000 <= max(b.audience) <= 450_000 for b in huge)
    assert sum(1 for b in w.broadcasts if b.start > 0 or b.end < 900) > len(w.broadcasts) / 3
    raided = [b for b in w.broadcasts if b.raid_at is not None]
    assert 1 <= len(raided) <= 3
    for broadcast in raided:
        assert broadcast.raid_at is not None
        before = broadcast.viewers(broadcast.raid_at - 10)
        assert broadcast.viewers(broadcast.raid_at + 60) >= 50 * before
    modes = Counter(b.viewer_mode for b in w.broadcasts)
    assert 0.1 <= modes[ViewerMode.NEVER] / len(w.broadcasts) <= 0.2
    assert 0.05 <= modes[ViewerMode.SOMETIMES] / len(w.broadcasts) <= 0.15


def test_raids_reach_the_lines() -> None:
    raided = [r for r in all_records() if r.kind == "raid"]
    assert len({r.broadcast_id for r in raided}) >= 3


def test_confounder_shares() -> None:
    reports = all_records()
    total = len(reports)
    without = sum(1 for r in reports if r.reporter is None) / total
    assert 0.15 <= without <= 0.25
    late = sum(1 for r in reports if r.delivered - r.made >= 5.0) / total
    assert 0.15 <= late <= 0.25
    copies: Counter[str] = Counter()
    skewed = 0
    for seed in SEEDS:
        for message in world(seed).messages:
            try:
                payload = orjson.loads(message.value)
            except orjson.JSONDecodeError:
                continue
            if "label" in payload:
                copies[payload["report_id"]] += 1
                skewed += copies[payload["report_id"]] == 1 and "made_at" in payload["label"]
    assert 0.03 <= sum(1 for n in copies.values() if n > 1) / len(copies) <= 0.05
    assert 0.09 <= skewed / total <= 0.16
    with_info = [r.reporter for r in reports if r.reporter is not None]
    flaggers = [i for i in with_info if i.get("trusted_flagger") is True]
    assert all(i["trust"] >= 0.9 and i["account_age_days"] >= 180 for i in flaggers)
    assert len(flaggers) / len(with_info) < 0.01
    ordinary = [i for i in with_info if i.get("trusted_flagger") is not True]
    assert all(i["trust"] < 0.8 for i in ordinary)
    ordinary_kinds = {"background", "viral", "raid"}
    watching = [
        r.reporter["was_viewing"] for r in reports if r.reporter and r.kind in ordinary_kinds
    ]
    assert sum(watching) / len(watching) >= 0.85


@pytest.mark.parametrize("seed", SEEDS)
def test_confounders_in_every_seed(seed: int) -> None:
    w = world(seed)
    grouped = by_broadcast(seed)
    kinds = Counter(t.kind for t in w.truths)
    assert 2 <= kinds[LabelKind.COORDINATED] <= 4
    assert 8 <= sum(n for k, n in kinds.items() if k.is_abuse) <= 15
    for kind in (LabelKind.SURGE, LabelKind.SPREAD_SURGE, LabelKind.RAMP, LabelKind.CHILD_SAFETY):
        assert kinds[kind] >= 1
    assert any(t.within is not None for t in w.truths)
    clickers = Counter(
        (r.broadcast_id, r.reporter_id) for r in records(seed) if r.kind == "repeat_clicker"
    )
    assert 2 <= len(clickers) <= 4
    assert all(10 <= n <= 30 for n in clickers.values())
    for truth in w.truths:
        assert any(r.incident == truth.name for r in grouped[truth.broadcast_id])


def _messages_of(seed: int, incident: str) -> list[dict[str, object]]:
    out = []
    for message in world(seed).messages:
        if incident.encode() in message.value:
            out.append(orjson.loads(message.value))
    return out


@pytest.mark.parametrize("seed", SEEDS)
def test_awkward_surges(seed: int) -> None:
    w = world(seed)
    flavoured = {t.flavour: t for t in w.truths}
    assert set(Flavour) - {Flavour.PLAIN} <= set(flavoured)
    own = {f: [r for r in records(seed) if r.incident == t.name] for f, t in flavoured.items()}
    first = min(own[Flavour.CLOCK_AHEAD], key=lambda r: r.made)
    payload = _messages_of(seed, first.report_id)[0]
    reported = ReportEvent.model_validate(payload).event_time
    assert 120.0 <= reported - first.made <= 180.0
    assert all(r.reporter is None for r in own[Flavour.NO_REPORTER])
    late = own[Flavour.LATE]
    assert sum(1 for r in late if 10.0 <= r.delivered - r.made <= 45.0) >= 0.85 * len(late)
    target = flavoured[Flavour.NO_VIEWER_COUNT].broadcast_id
    assert all("viewer_count" not in p for p in _messages_of(seed, target) if p.get("broadcast_id"))
    large = flavoured[Flavour.LARGE]
    assert next(b for b in w.broadcasts if b.id == large.broadcast_id).tier is Tier.HUGE


@pytest.mark.parametrize("seed", SEEDS)
def test_every_incident_meets_its_criteria(seed: int) -> None:
    grouped = by_broadcast(seed)
    failed = [t.name for t in world(seed).truths if not incident_holds(grouped[t.broadcast_id], t)]
    assert failed == []


@pytest.mark.parametrize("seed", SEEDS)
def test_labels_are_honest(seed: int) -> None:
    """A broadcast's first label is what it is without its incidents; incident reports
    carry their incident's onset and never precede it."""
    w = world(seed)
    truths = {t.name: t for t in w.truths}
    for rs in by_broadcast(seed).values():
        for record in rs:
            if record.incident is not None:
                assert record.made >= truths[record.incident].onset - 1e-3
    huge = {b.id for b in w.broadcasts if b.tier is Tier.HUGE}
    for record in records(seed):
        if record.incident is None and record.broadcast_id in huge:
            assert record.kind == "viral"


@pytest.mark.parametrize("seed", SEEDS)
def test_ordinary_bursts_stay_modest(seed: int) -> None:
    """No ordinary minute has 10 people reporting a broadcast of under 500 viewers."""
    w = world(seed)
    audience = {b.id: b for b in w.broadcasts}
    for broadcast_id, rs in by_broadcast(seed).items():
        ordinary = sorted((r.made, r.reporter_id) for r in rs if r.kind == "background")
        for at, _ in ordinary:
            if audience[broadcast_id].viewers(at - START) >= 500:
                continue
            reporters = {who for made, who in ordinary if at <= made < at + 60.0}
            assert len(reporters) < 10

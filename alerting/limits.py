"""The largest broadcast state a policy allows, in stored bytes.

Why: a record larger than the changelog topic accepts is refused for good. A
broadcast's state is one changelog record, or a head and a record per bucket of a
large window (:mod:`alerting.state_records`), each smaller than the whole state
inline, which is what is bounded here. A broadcast reported by
as many distinct reporters as the caps keep, in every category, is the largest
incident the platform can have; if its state could not be written the worker
would stop exactly then (issue 14). The policy therefore refuses caps whose
largest state exceeds :data:`MAX_STATE_RECORD_BYTES`, and the worker creates
its changelog topics to accept that much (and refuses to start on a topic or a
producer limit below the policy's largest state).

The broadcast's window across its categories (state format 3) holds up to the cap
of reporters too, so the largest state holds one window more than there are
categories; its incidents are counted one per category (more than the routed
teams a broadcast can page), each with the longest team name a policy accepts
and naming every category, its history with every bucket of its lag pending, and
each ramp's reference with every block of its lag pending.

The figure is measured on the real encoding rather than restated by hand, so a
change to the encoding cannot make it stale: a state with one reporter in every
category and one with two, each with every field at its widest, give the size
of the state without reporters and the size one more reporter adds; the state
grows by exactly that much per reporter, since every widest reporter encodes to
the same length.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from alerting.history import BroadcastHistory
from alerting.incidents import Incident, dedup_key_for
from alerting.ramp import REFERENCE_BLOCKS, OwnReference, RampState
from alerting.reporter_mark import ReporterStanding
from alerting.state import BroadcastState
from alerting.window import CategoryWindow
from alerting.window_shape import WindowShape
from models.escalation import MAX_SAMPLE_REPORT_IDS, EscalationClass, Severity
from models.report import (
    LATEST_EVENT_TIME,
    MAX_ID_LENGTH,
    MAX_REGION_LENGTH,
    MAX_VIEWER_COUNT,
    Category,
    MediaType,
    Platform,
)

MAX_STATE_RECORD_BYTES = 16 * 1024 * 1024
"""Most bytes one broadcast's stored state may take: the changelog topics are created with
this ``max.message.bytes``, and the policy refuses reporter caps whose largest state is bigger."""

WIDEST_TIME = 4102444799.1234567
"""An event time in the accepted range (2000 to 2100) whose shortest repr is the longest."""
WIDEST_FLOAT = -2.2250738585072014e-308
"""A float whose shortest repr is the longest any double has (for figures with no range)."""
WIDEST_COUNT = 2**53 - 1
"""Counters (arrivals, reports, sequences) stay below 2**53: a billion reports a second
would take 285 years to pass it."""
WIDEST_WEIGHT_MILLI = 10_000
"""The policy's highest reporter weight (a trusted flagger weighs at most 10)."""
WIDEST_TEAM = "z" * 63
"""The longest team name a policy accepts (``Team`` in :mod:`alerting.policy`)."""
HISTORY_BUCKETS = 1_000
"""More buckets than any history's lag keeps pending (the lag is tens of seconds)."""
_WINDOWS = len(Category) + 1
"""A window per category and the broadcast's window across them."""
WIDEST_TEXT_CHAR = "\x00"
"""A control character: JSON escapes it as six bytes, more than any other character takes."""


@dataclass(frozen=True, slots=True)
class StateSize:
    """The stored size of a state: ``fixed`` bytes plus ``per_reporter`` for each reporter."""

    fixed: int
    per_reporter: int

    def with_reporters(self, reporters: int) -> int:
        return self.fixed + self.per_reporter * reporters


def largest_state_bytes(
    max_reporters_per_category: int, length_seconds: float, bucket_seconds: float
) -> int:
    """Bytes of the largest state: every category at the reporter cap, every field at its widest."""
    size = _state_size(length_seconds, bucket_seconds)
    return size.with_reporters(max_reporters_per_category * _WINDOWS)


def max_reporters_fitting(record_limit: int, length_seconds: float, bucket_seconds: float) -> int:
    """The highest reporter cap whose largest state fits ``record_limit`` bytes (0: none does)."""
    size = _state_size(length_seconds, bucket_seconds)
    return max(0, (record_limit - size.fixed) // (size.per_reporter * _WINDOWS))


def largest_state(
    max_reporters_per_category: int,
    length_seconds: float,
    bucket_seconds: float,
    reporters_per_category: int | None = None,
) -> BroadcastState:
    """The state :func:`largest_state_bytes` measures, with ``reporters_per_category``
    reporters in each category (the cap when None): what a test writes to the broker."""
    shape = WindowShape(length_seconds, bucket_seconds, 0.0, max_reporters_per_category)
    count = max_reporters_per_category if reporters_per_category is None else reporters_per_category
    widest_id = WIDEST_TEXT_CHAR * MAX_ID_LENGTH
    bucket = shape.bucket_of(LATEST_EVENT_TIME.timestamp())
    key_ms = round(LATEST_EVENT_TIME.timestamp() * 1000)
    state = BroadcastState(
        broadcast_id=widest_id,
        watermark=WIDEST_TIME,
        broadcaster_id=widest_id,
        platform=max(Platform, key=len),
        media_type=max(MediaType, key=len),
        region=WIDEST_TEXT_CHAR * MAX_REGION_LENGTH,
        viewers=MAX_VIEWER_COUNT,
        input_offset=WIDEST_COUNT,
        record_clock=WIDEST_TIME,
        taught_rate=WIDEST_FLOAT,
        next_arrival=WIDEST_COUNT,
    )
    state.combined = _full_window(shape, bucket, count)
    state.history = BroadcastHistory(
        WIDEST_FLOAT,
        WIDEST_FLOAT,
        WIDEST_COUNT,
        {bucket - n: (WIDEST_COUNT, WIDEST_FLOAT) for n in range(HISTORY_BUCKETS)},
        dict.fromkeys(Category, WIDEST_FLOAT),
        {bucket - n: dict.fromkeys(Category, WIDEST_COUNT) for n in range(HISTORY_BUCKETS)},
    )
    for index, category in enumerate(Category):
        team = f"{WIDEST_TEAM[:-2]}{index:02d}"
        state.windows[category] = _full_window(shape, bucket, count)
        state.incidents[team] = _widest_incident(widest_id, team, category, key_ms)
        state.coordination[team] = _widest_incident(
            widest_id, team, category, key_ms, EscalationClass.COORDINATED_REPORTING
        )
        state.last_incident_key_ms[team] = key_ms
        state.last_coordination_key_ms[team] = key_ms
        state.ramps[category] = RampState(
            WIDEST_FLOAT,
            bucket,
            WIDEST_COUNT,
            OwnReference(
                WIDEST_FLOAT,
                WIDEST_FLOAT,
                WIDEST_COUNT,
                WIDEST_COUNT,
                {bucket - n: (WIDEST_FLOAT, WIDEST_FLOAT) for n in range(REFERENCE_BLOCKS + 2)},
            ),
            WIDEST_FLOAT,
        )
    return state


@lru_cache(maxsize=16)
def _state_size(length_seconds: float, bucket_seconds: float) -> StateSize:
    one, two = (
        len(largest_state(2, length_seconds, bucket_seconds, reporters).to_bytes())
        for reporters in (1, 2)
    )
    per_reporter = (two - one) // _WINDOWS
    return StateSize(fixed=one - per_reporter * _WINDOWS, per_reporter=per_reporter)


def _full_window(shape: WindowShape, bucket: int, reporters: int) -> CategoryWindow:
    window = CategoryWindow()
    window.next_arrival = WIDEST_COUNT - reporters
    standing = ReporterStanding(credible=False, weight_milli=WIDEST_WEIGHT_MILLI, suspect=False)
    oldest = bucket - shape.bucket_count + 1
    report_id = WIDEST_TEXT_CHAR * MAX_ID_LENGTH
    for number in range(reporters):
        window.add(shape, bucket, WIDEST_TIME, f"{number:016x}", standing, report_id)
    for older in range(oldest, bucket):
        window.buckets[older] = WIDEST_COUNT
    window.buckets[bucket] = WIDEST_COUNT
    window.samples = [(bucket, report_id)] * MAX_SAMPLE_REPORT_IDS
    return window


def _widest_incident(
    broadcast_id: str,
    team: str,
    category: Category,
    key_ms: int,
    escalation_class: EscalationClass = EscalationClass.REPORT_SPIKE,
) -> Incident:
    return Incident(
        dedup_key=dedup_key_for(broadcast_id, team, key_ms, escalation_class),
        category=category,
        escalation_class=max(EscalationClass, key=len),
        severity=max(Severity, key=len),
        sequence=WIDEST_COUNT,
        opened_at=WIDEST_TIME,
        last_active_at=WIDEST_TIME,
        last_sent_at=WIDEST_TIME,
        key_ms=key_ms,
        team=team,
        categories=list(Category),
        classes=[c for c in EscalationClass if c.is_abuse],
    )

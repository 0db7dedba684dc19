"""Per-broadcast, per-category sliding windows over event time.

A window is a ring of fixed buckets: with ``length_seconds=300`` and
``bucket_seconds=10`` it keeps 30 buckets. Bucket ``i`` holds reports whose event
time falls in ``[i * 10, (i + 1) * 10)``. At event time ``t`` the window holds the
30 buckets ending with the one containing ``t``::

    t = 12:05:03  ->  current bucket 12:05:00, window = [12:00:10, 12:05:10)

Time only moves forward with the newest event time seen on the broadcast (the
broadcast's own watermark), never with the wall clock, so a replay at any speed
builds exactly the windows the live worker built.

A report is *late* and left out (the caller counts it) when its event time is more
than ``allowed_lateness_seconds`` behind the newest one, or when its bucket has
already left the window; a late report cannot change a decision already taken.

Reporters are counted distinct within the window: a reporter who clicks twenty
times counts once. The reporter set is kept in last-seen order so that expiry
costs only the reporters that leave; it is capped at ``max_reporters_per_category``
by dropping the longest-unseen reporter, so a flood cannot grow memory without
bound (above the cap, the distinct count is a lower bound: still far past any
threshold).

Three things make the per-report cost independent of the window's size when
nothing leaves it: the window remembers its oldest bucket, so expiry is one
comparison until a bucket actually leaves; a large window (one stored apart, see
below) keeps its encoded form until it changes, so a broadcast whose other
categories are untouched re-encodes only the window that moved; and it keeps each
bucket's encoded reporters until that bucket changes, so a window that moved
re-encodes only the reporters of the buckets that did (mostly the newest), not all
of its reporters. A small window (stored inline) keeps no encoding: it is encoded
afresh at each write, which costs less than the memory its bytes would hold between
writes (in-process, a sixth of a busy platform's live state; ``docs/benchmarks.md``).

Stored, the reporters are one JSON object grouped by bucket, in the state's record
or, for a large window, one record per bucket (:mod:`alerting.state_records`); each
reporter's *arrival* number (its place in the last-seen order) lets a restored
window rebuild the very order the cap drops by.

Each reporter carries a trust weight in thousandths (integers, so the running
sums are exact and a state restored from the changelog sums to the very same
figure the live worker had), whether the reporter is *suspect* (new,
low-trust or not watching) and whether it is *unknown* (its report carried no
``reporter`` object: the front end said nothing about it). A reporter's weight is
the highest it has shown; it stops being suspect once one of its reports is not,
and unknown once one of its reports says something about it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import chain
from typing import Any

import orjson

from alerting.reporter_mark import WEIGHT_UNIT, ReporterMark, ReporterStanding, boxed_once
from alerting.stored_marks import stored_marks
from alerting.window_shape import WindowShape
from models.escalation import MAX_SAMPLE_REPORT_IDS


@dataclass(slots=True)
class CategoryWindow:
    """Counts, distinct reporters and recent report ids of one category.

    Each reporter is indexed under the bucket of its *newest* report, so expiring a bucket
    removes exactly the reporters whose last report left the window, even when reports
    arrived out of order. The index holds the marks of ``reporters``, by bucket: a
    bucket's stored form is its dict, written by orjson as it is.
    """

    buckets: dict[int, int] = field(default_factory=dict)
    reports: int = 0
    reporters: dict[str, ReporterMark] = field(default_factory=dict)
    """In arrival order."""
    reporters_by_bucket: dict[int, dict[str, ReporterMark]] = field(default_factory=dict)
    """The same marks by the bucket of each reporter's newest report, in arrival order."""
    next_arrival: int = 0
    bucket_weights: dict[int, int] = field(default_factory=dict)
    """Trust weight (thousandths) of the reporters indexed under each bucket: the weighted
    distinct reporters active since a bucket are the sum from it on (not stored: rebuilt
    from the marks)."""
    credible_reporters: int = 0
    weight_milli: int = 0
    suspect_reporters: int = 0
    unknown_reporters: int = 0
    """Reporters none of whose reports carried a ``reporter`` object."""
    samples: list[tuple[int, str]] = field(default_factory=list)
    """The newest report ids (at most ``MAX_SAMPLE_REPORT_IDS``) with their buckets; not a
    deque, whose block of 64 slots was most of the memory of a one-report broadcast."""
    oldest_bucket: int | None = field(default=None, init=False, compare=False, repr=False)
    """No bucket, reporter or sample is older than this (None: the window holds none)."""
    _encoded: bytes | None = field(default=None, init=False, compare=False, repr=False)
    """Stored apart, the stored JSON while nothing has changed since it was built."""
    _bucket_json: dict[int, bytes] = field(
        default_factory=dict, init=False, compare=False, repr=False
    )
    """Stored apart, each bucket's reporters as JSON object members, while the bucket is
    unchanged."""
    stored_buckets: dict[int, bytes] | None = field(
        default=None, init=False, compare=False, repr=False
    )
    """Stored apart (:mod:`alerting.state_records`): each bucket record's members; None inline."""

    def add(
        self,
        shape: WindowShape,
        bucket: int,
        event_time: float,
        reporter_key: str,
        standing: ReporterStanding,
        report_id: str,
        *,
        arrival: int | None = None,
        same: Any = None,
    ) -> int:
        """Count one report; return the weight (thousandths) it added to the window.

        ``arrival`` is the report's number in its broadcast, where the broadcast numbers
        its reports for all its windows (None: the window's own next number). ``same`` is
        the mark another window of the broadcast stored for this report
        (:meth:`stored_mark`): if this window's mark comes out equal, it stores that very
        object. A reporter new to its category's window and to the broadcast-wide one,
        the common case, is then one mark in memory, not two.
        """
        self._encoded = None
        if self.oldest_bucket is None or bucket < self.oldest_bucket:
            self.oldest_bucket = bucket
        self.buckets[bucket] = self.buckets.get(bucket, 0) + 1
        self.reports += 1
        samples = self.samples
        samples.append((bucket, report_id))
        if len(samples) > MAX_SAMPLE_REPORT_IDS:
            del samples[0]
        reporters = self.reporters
        previous = reporters.get(reporter_key)
        if previous is None:
            self._index(
                reporter_key,
                (
                    event_time,
                    bucket,
                    standing.credible,
                    standing.weight_milli,
                    standing.suspect,
                    self._arrival(arrival),
                    standing.unknown,
                ),
                same,
            )
            while len(reporters) > shape.max_reporters:
                self._forget(next(iter(reporters)))
            return standing.weight_milli if reporter_key in reporters else 0
        last_seen, seen_bucket, credible, weight_milli, suspect, number, unknown = previous
        if standing.credible and not credible:
            credible = True
            self.credible_reporters += 1
        if suspect and not standing.suspect:
            suspect = False
            self.suspect_reporters -= 1
        if unknown and not standing.unknown:
            unknown = False
            self.unknown_reporters -= 1
        added = max(0, standing.weight_milli - weight_milli)
        weight_milli += added
        self.weight_milli += added
        indexed = added
        if event_time > last_seen:
            self._unindex(reporter_key, seen_bucket)
            del reporters[reporter_key]
            last_seen, seen_bucket, number = event_time, bucket, self._arrival(arrival)
            indexed = weight_milli
        mark = (last_seen, seen_bucket, credible, weight_milli, suspect, number, unknown)
        if mark != previous:
            stored = boxed_once(mark, same)
            reporters[reporter_key] = stored
            self._bucket_marks(seen_bucket)[reporter_key] = stored
            if indexed:
                self.bucket_weights[seen_bucket] = self.bucket_weights.get(seen_bucket, 0) + indexed
        return added

    def expire(self, shape: WindowShape, watermark: float) -> None:
        """Drop buckets, reporters and samples that left the window ending at ``watermark``.

        Usually one bucket leaves at a time: the leaving buckets are then looked up one by
        one from the oldest, rather than by scanning every bucket the window holds.
        """
        first = shape.first_bucket(watermark)
        oldest = self.oldest_bucket
        if oldest is None or oldest >= first:
            return
        self._encoded = None
        if first - oldest <= len(self.buckets):
            leaving: list[int] = list(range(oldest, first))
        else:
            leaving = [b for b in chain(self.buckets, self.reporters_by_bucket) if b < first]
        for bucket in leaving:
            count = self.buckets.pop(bucket, None)
            if count is not None:
                self.reports -= count
            marks = self.reporters_by_bucket.pop(bucket, None)
            if marks is not None:
                self._bucket_json.pop(bucket, None)
                self.bucket_weights.pop(bucket, None)
                for key in marks:
                    self._forget(key, unindex=False)
        self.samples = [sample for sample in self.samples if sample[0] >= first]
        if first in self.buckets or first in self.reporters_by_bucket:
            self.oldest_bucket = first  # nothing older is left
        else:
            self.oldest_bucket = min(
                chain(self.buckets, self.reporters_by_bucket, (b for b, _ in self.samples)),
                default=None,
            )

    def is_expired_by(self, shape: WindowShape, watermark: float) -> bool:
        """Whether :meth:`expire` at ``watermark`` would drop anything (one comparison)."""
        return self.oldest_bucket is not None and self.oldest_bucket < shape.first_bucket(watermark)

    def _arrival(self, given: int | None) -> int:
        arrival = self.next_arrival if given is None else given
        self.next_arrival = arrival + 1
        return arrival

    def stored_mark(self, reporter_key: str) -> Any:
        """The reporter's mark as the window holds it (boxed: see ``ReporterMark``), or None."""
        return self.reporters.get(reporter_key)

    def _bucket_marks(self, bucket: int) -> dict[str, ReporterMark]:
        """The bucket's reporters, about to change: its encoded members are dropped."""
        self._bucket_json.pop(bucket, None)
        marks = self.reporters_by_bucket.get(bucket)
        if marks is None:
            marks = self.reporters_by_bucket[bucket] = {}
        return marks

    def _index(self, key: str, mark: ReporterMark, same: Any = None) -> None:
        _, bucket, credible, weight_milli, suspect, _, unknown = mark
        stored = boxed_once(mark, same)
        self.reporters[key] = stored
        self._bucket_marks(bucket)[key] = stored
        if weight_milli:
            self.bucket_weights[bucket] = self.bucket_weights.get(bucket, 0) + weight_milli
        if credible:
            self.credible_reporters += 1
        if suspect:
            self.suspect_reporters += 1
        if unknown:
            self.unknown_reporters += 1
        self.weight_milli += weight_milli

    def _forget(self, key: str, *, unindex: bool = True) -> None:
        """Remove a reporter; the cap drops the first in the dict, the longest unseen."""
        _, bucket, credible, weight_milli, suspect, _, unknown = self.reporters.pop(key)
        if credible:
            self.credible_reporters -= 1
        if suspect:
            self.suspect_reporters -= 1
        if unknown:
            self.unknown_reporters -= 1
        self.weight_milli -= weight_milli
        if unindex:
            self._unindex(key, bucket)

    def _unindex(self, key: str, bucket: int) -> None:
        self._bucket_json.pop(bucket, None)
        marks = self.reporters_by_bucket[bucket]
        weight_milli = marks.pop(key)[3]
        if not marks:
            del self.reporters_by_bucket[bucket]
            self.bucket_weights.pop(bucket, None)
        elif weight_milli:
            remaining = self.bucket_weights[bucket] - weight_milli
            if remaining:
                self.bucket_weights[bucket] = remaining
            else:
                del self.bucket_weights[bucket]

    def weight_between(self, first_bucket: int, last_bucket: int) -> int:
        """Trust weight (thousandths) of the distinct reporters last active in ``first_bucket``
        to ``last_bucket``, both included; walks the range when it is shorter than the
        window, as callers ask for a full window's last few buckets several times a report."""
        weights = self.bucket_weights
        if last_bucket - first_bucket < len(weights):
            return sum(weights.get(bucket, 0) for bucket in range(first_bucket, last_bucket + 1))
        return sum(w for b, w in weights.items() if first_bucket <= b <= last_bucket)

    @property
    def distinct_reporters(self) -> int:
        return len(self.reporters)

    @property
    def weighted_reporters(self) -> float:
        return self.weight_milli / WEIGHT_UNIT

    @property
    def sample_report_ids(self) -> list[str]:
        return [report_id for _, report_id in self.samples]

    @property
    def is_empty(self) -> bool:
        return self.reports == 0 and not self.reporters

    def bucket_members(self, bucket: int) -> bytes:
        """The reporters of ``bucket`` as JSON object members, for its own record (the
        window stored apart); encoded again only once the bucket changed."""
        members = self._bucket_json.get(bucket)
        if members is None:
            members = orjson.dumps(self.reporters_by_bucket[bucket])[1:-1]
            self._bucket_json[bucket] = members
        return members

    def store_apart(self, apart: bool) -> None:
        """Store the reporters in records of their own (``apart``) or inline from now on."""
        if apart != (self.stored_buckets is not None):
            self.stored_buckets = {} if apart else None
            self._encoded = None
            self._bucket_json = {}

    def encoded(self) -> bytes:
        """The stored form (format 3) as JSON; stored apart, built again only after the
        window has changed.

        ``{"b": [[bucket, reports], ...], "r": {key: [last_seen, bucket, credible,
        weight_milli, suspect, arrival, unknown], ...}, "s": [[bucket, report_id], ...], "a":
        next_arrival}``, the reporters ordered by bucket, then arrival. Format 2 is the same
        without ``unknown``. Stored apart, ``"rb": [bucket, ...]`` (the buckets whose own
        records hold the reporters) replaces ``"r"``.
        """
        if self.stored_buckets is None:
            return self._inline_encoding()
        if self._encoded is None:
            self._encoded = self._encoding("rb", sorted(self.reporters_by_bucket))
        return self._encoded

    def _inline_encoding(self) -> bytes:
        """One orjson call over the reporters gathered by bucket: a reporter is indexed
        under one bucket only, so the gathered dict holds each once, in the stored order.
        Bucket by bucket, a small window paid an orjson call, a slice and a join for each
        bucket's handful of reporters."""
        by_bucket = self.reporters_by_bucket
        reporters: dict[str, ReporterMark] = {}
        for bucket in sorted(by_bucket):
            reporters.update(by_bucket[bucket])
        return self._encoding("r", reporters)

    def _encoding(self, tag: str, reporters: Any) -> bytes:
        """The stored form with ``reporters`` under ``tag``, in one orjson call."""
        return orjson.dumps(
            {
                "b": list(self.buckets.items()),
                tag: reporters,
                "s": self.samples,
                "a": self.next_arrival,
            }
        )

    def copy(self) -> CategoryWindow:
        """An independent window with the same contents (through the stored form, inline)."""
        return CategoryWindow.from_plain(orjson.loads(self._inline_encoding()))

    @classmethod
    def from_plain(cls, plain: dict[str, Any]) -> CategoryWindow:
        """Reads formats 3 and 2 and format 1 (reporters as a list of arrays in last-seen
        order, whose oldest form had no weight and suspicion). A reporter restored from a
        format that did not record whether its report said anything about it is not
        counted unknown."""
        window = cls()
        window.buckets = {int(bucket): int(count) for bucket, count in plain["b"]}
        window.reports = sum(window.buckets.values())
        marks, window.next_arrival = stored_marks(plain, WEIGHT_UNIT)
        for key, (last_seen, bucket, credible, weight_milli, suspect, arrival, *unknown) in marks:
            window._index(
                key,
                (
                    float(last_seen),
                    int(bucket),
                    bool(credible),
                    int(weight_milli),
                    bool(suspect),
                    int(arrival),
                    bool(unknown and unknown[0]),
                ),
            )
        window.samples = [(int(bucket), str(report_id)) for bucket, report_id in plain["s"]][
            -MAX_SAMPLE_REPORT_IDS:
        ]
        window.oldest_bucket = min(
            chain(window.buckets, window.reporters_by_bucket, (b for b, _ in window.samples)),
            default=None,
        )
        return window

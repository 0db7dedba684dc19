"""Everything spikewatch remembers about one broadcast, as one serialisable object.

The shell stores it as one value per broadcast in a changelog-backed table, so a
restarted or rebalanced worker restores exactly what it had. The encoding is
compact JSON (orjson): readable in the changelog topic when debugging, and the
reporter keys in it are pseudonymous hashes, never raw reporter ids. Each window
contributes its encoding (:meth:`CategoryWindow.encoded`), cached by a large window
until it changes, so a state is written once per batch at the cost of the windows
that changed and of its small ones.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import orjson

from alerting.history import BroadcastHistory
from alerting.incidents import Incident
from alerting.ramp import RampState
from alerting.reporter_mark import ReporterStanding
from alerting.window import CategoryWindow
from alerting.window_shape import WindowShape
from models.report import Category, MediaType, Platform, ReportEvent

_STATE_FORMAT = 5
"""Format 5 may store a large window apart, its reporters in a record per bucket (``"rb"``
instead of ``"r"``: :mod:`alerting.state_records`). Format 4 stores with each window's
reporter whether any of its reports carried a ``reporter`` object (window format 3, see
:meth:`CategoryWindow.encoded`). Format 3 keys incidents by routed team (one incident per
broadcast and team, across categories) and adds the all-categories window (``"a"``: its
encoding, or the name of the one category whose window it is) and the broadcast's own
history (``"h"``). Format 2 stores each window's reporters as one object of arrays,
grouped by bucket and numbered in arrival order (format 1: a list of arrays in arrival
order). All are read: an incident of formats 1 and 2 (keyed by category) is routed again
by the engine (:attr:`BroadcastState.unrouted`), its ``dedup_key`` kept. A worker that
knows only older formats refuses a newer one by its number instead of misreading it."""
_ROUTED_FORMAT = 3
"""The first format whose incidents are keyed by routed team."""
_READABLE_FORMATS = (1, 2, _ROUTED_FORMAT, 4, _STATE_FORMAT)

_WINDOW_KEYS = {category: orjson.dumps(category.value) + b":" for category in Category}
"""Each category's key in a stored state's ``"w"`` object, with its colon."""


def reporter_key(reporter_id: str) -> str:
    """Pseudonymous reporter key: distinct counting needs identity, not the id itself."""
    return hashlib.blake2b(reporter_id.encode(), digest_size=8).hexdigest()


@dataclass(slots=True)
class BroadcastState:
    """``incidents`` are abuse incidents; ``coordination`` the coordinated-reporting ones,
    each by routed team.

    The two are kept apart so that each has its own lifecycle and an abuse incident
    can supersede a coordination one. ``windows`` are per category; ``combined``
    holds every category's reporters, each counted once (the broadcast-wide view).
    """

    broadcast_id: str
    watermark: float | None = None
    broadcaster_id: str | None = None
    platform: Platform | None = None
    media_type: MediaType | None = None
    region: str | None = None
    viewers: int | None = None
    windows: dict[Category, CategoryWindow] = field(default_factory=dict)
    combined: CategoryWindow = field(default_factory=CategoryWindow)
    shared: Category | None = None
    """The category whose window is also ``combined`` (the same object), while the
    broadcast's window holds that category alone (see the engine)."""
    history: BroadcastHistory = field(default_factory=BroadcastHistory)
    incidents: dict[str, Incident] = field(default_factory=dict)
    last_incident_key_ms: dict[str, int] = field(default_factory=dict)
    coordination: dict[str, Incident] = field(default_factory=dict)
    last_coordination_key_ms: dict[str, int] = field(default_factory=dict)
    ramps: dict[Category, RampState] = field(default_factory=dict)
    unrouted: bool = False
    """Restored from format 1 or 2: ``incidents`` are keyed by category, not yet by team."""
    record_clock: float | None = None
    """The newest Kafka record time of the reports counted here (None: none carried one),
    the clock the learner's exposure runs on (:meth:`Expectation.exposure`). Stored under
    ``"rc"`` when known, without a format of its own: a worker that does not know it
    measures exposure in event time, as before it existed."""
    taught_rate: float | None = None
    """The broadcast's rate per viewer-second (its level times the platform's total) when it
    last taught the learner: what it is held at while it may not (:meth:`BaseRateLearner.hold`).
    Stored under ``"tr"`` when known; a state without it is held at nothing until it teaches."""
    input_offset: int | None = None
    """Offset of the newest input message counted into this state, on the broadcast's
    partition: a message re-delivered after a crash (at or below it) is already here."""
    stored_apart: dict[str, tuple[CategoryWindow, bytes]] = field(
        default_factory=dict, compare=False, repr=False
    )
    """The windows whose bucket records the table holds, by their tag in the records' keys,
    each with its encoding in the head last written (:mod:`alerting.state_records`)."""
    next_arrival: int = field(default=0, repr=False)
    """The number the next report counted takes in every window it goes into
    (:meth:`CategoryWindow.add`). Stored under ``"n"``, without a format of its own, so a
    restored state numbers on exactly as the live one would; a state stored without it
    goes on from the highest next number of its windows, which keeps each window's order
    (and a worker that does not know it numbers each window on its own, as before)."""

    def take_arrival(self) -> int:
        """The next report's number, for all the windows it is counted in."""
        arrival = self.next_arrival
        self.next_arrival = arrival + 1
        return arrival

    def remember_context(self, report: ReportEvent, *, newest: bool = True) -> None:
        """Keep the newest descriptive fields; they label the escalations.

        The audience is taken only from a report that is ``newest`` in event time (or
        while none is known): a report delivered late carries the audience of when it
        was made, and during a raid (an audience a hundred times larger within a
        minute) that older, smaller figure would make the current reports improbable.
        The engine does not call a report whose clock it corrected newest: counted at its
        record time, it was made at some time before that, its audience as old as that.

        Nor does a count of zero replace a known audience: the report was filed by someone
        watching, so zero is a client with no count (a broadcast ending, a replay), not an
        audience. Taken, it judged the window's reporters of a large broadcast against the
        audience floor and paged.
        """
        self.broadcaster_id = report.broadcaster_id or self.broadcaster_id
        self.platform = report.platform or self.platform
        self.media_type = report.media_type
        self.region = report.region or self.region
        viewers = report.viewer_count
        if viewers is not None and (self.viewers is None or (newest and viewers > 0)):
            self.viewers = viewers

    def restart_ramps(self) -> None:
        """Start every category's CUSUM again from zero: the broadcast's last incident has
        resolved. What the statistic held was the excess the incident answered for, and
        the reference did not learn during it; kept, that excess would let an ordinary
        fluctuation of the window page a second time for the same trouble. A new climb
        has to show its own evidence, as a CUSUM does after an alarm."""
        for ramp in self.ramps.values():
            ramp.statistic = 0.0

    def advance_record_clock(self, record_time: float | None) -> None:
        """Move :attr:`record_clock` on to a counted report's record time, never back."""
        if record_time is not None and (
            self.record_clock is None or record_time > self.record_clock
        ):
            self.record_clock = record_time

    def window_end(self, shape: WindowShape, now: float) -> float | None:
        """Where a tick at ``now`` ends the broadcast's windows (None: it has had no report).

        The broadcast's own watermark, unless it has been quiet for longer than a
        window and its lateness: then ``now``, so its windows empty and it can go.
        """
        if self.watermark is None:
            return None
        horizon = now - shape.length_seconds - shape.allowed_lateness_seconds
        return now if self.watermark < horizon else self.watermark

    def windows_due(self, shape: WindowShape, now: float) -> bool:
        """Whether a tick at ``now`` would drop a bucket or an empty window."""
        window_end = self.window_end(shape, now)
        return window_end is not None and (
            self.combined.is_expired_by(shape, window_end)
            or any(
                window.is_empty or window.is_expired_by(shape, window_end)
                for window in self.windows.values()
            )
        )

    def expire_windows(self, shape: WindowShape, now: float) -> None:
        """Expire every window to where a tick at ``now`` ends them; drop the empty ones,
        and with each its category's ramp.

        A ramp whose category has no reporter left in the window has no climb the window
        could confirm (the ramp fires only with its window above the low mark and a floor
        of weighted reporters), and its reference starts again, from its opening, when the
        category reports again. Kept, every category a long-lived broadcast had ever
        reported held a CUSUM and a reference with up to a lag's worth of pending sums:
        state that kept growing long past the window, and a ramp mark (set by the
        categories the broadcast reports) counting categories it no longer did.
        """
        window_end = self.window_end(shape, now)
        if window_end is None:
            return
        self.combined.expire(shape, window_end)
        for category, window in list(self.windows.items()):
            window.expire(shape, window_end)
            if window.is_empty:
                del self.windows[category]
                self.ramps.pop(category, None)

    def count(
        self,
        shape: WindowShape,
        category: Category,
        abuse: bool,
        bucket: int,
        event_time: float,
        watermark: float,
        key: str,
        standing: ReporterStanding,
        report_id: str,
    ) -> tuple[CategoryWindow, CategoryWindow, int, int]:
        """Count one report in its category's window and, for an ``abuse`` category, in the
        broadcast-wide one, and expire both to ``watermark``: ``(the category's window, the
        broadcast-wide window, the weight in thousandths the report added to each)``.

        The report takes one number for both windows (:meth:`take_arrival`), so where the
        two come out with equal marks they keep one object
        (:func:`alerting.reporter_mark.boxed_once`).
        """
        window = self.windows.get(category)
        if window is None:
            window = self.windows[category] = CategoryWindow()
        if abuse:
            combined = self.broadcast_window(category, window)
        else:
            if self.combined is window:
                self.combined, self.shared = CategoryWindow(), None
            combined = self.combined
        arrival = self.take_arrival()
        added = window.add(shape, bucket, event_time, key, standing, report_id, arrival=arrival)
        if not abuse:
            added_combined = 0
        elif combined is window:
            added_combined = added
        else:
            same = window.stored_mark(key)
            added_combined = combined.add(
                shape, bucket, event_time, key, standing, report_id, arrival=arrival, same=same
            )
        window.expire(shape, watermark)
        combined.expire(shape, watermark)
        if not abuse and self.shared is not None and combined.is_empty:
            self.drop_shared_window()
        return window, combined, added, added_combined

    def broadcast_window(self, category: Category, window: CategoryWindow) -> CategoryWindow:
        """The broadcast-wide window a report of ``category`` (its window ``window``) goes into.

        While a broadcast's window holds one category alone (most broadcasts: a report or
        two), the category's window *is* the broadcast's (``shared``): one window to
        count into and to keep in memory. A report of another category splits them: the
        broadcast's window becomes a copy of its own. An empty broadcast window is shared
        with the window of the category that arrives next.
        """
        combined = self.combined
        if combined is window:
            return window
        if combined.is_empty:
            self.combined, self.shared = window, category
            return window
        if self.shared is not None:
            combined = self.combined = combined.copy()
            self.shared = None
        return combined

    def drop_shared_window(self) -> None:
        """Drop the abuse category's window that a low-harm report's clock has just emptied
        while it was also the broadcast's window. A tick drops an empty window too, and a
        stored state leaves it out, so the broadcast goes on as it would after a restart:
        its next report in that category opens a fresh window. A tick may have dropped
        that window already."""
        if self.shared is not None:
            self.windows.pop(self.shared, None)
        self.combined, self.shared = CategoryWindow(), None

    def own_weight_milli(
        self, abuse: frozenset[Category], span: tuple[int, int] | None = None
    ) -> int:
        """Trust weight (thousandths) of the broadcast's reporters in every category, in the
        buckets ``span`` (first, last; both included) or the whole window: the scale of a
        broadcast of unknown audience (:meth:`alerting.expectation.Expectation.rates`).

        Every category, not only the abuse ones the broadcast-wide window holds: a surge is
        filed under abuse categories alone, and that no spam or copyright reports came with
        it is part of what makes its share improbable. The low-harm categories' windows are
        added to the broadcast's, so a reporter who chose both counts twice, which only
        makes every share's expectation larger.
        """
        windows = [self.combined, *(w for c, w in self.windows.items() if c not in abuse)]
        if span is None:
            return sum(w.weight_milli for w in windows)
        first, last = span
        return sum(w.weight_between(first, last) for w in windows)

    @property
    def shares_combined(self) -> bool:
        """Whether the broadcast-wide window is a category's own (stored under its name)."""
        return self.shared is not None and self.combined is self.windows.get(self.shared)

    @property
    def is_idle(self) -> bool:
        return (
            not self.incidents
            and not self.coordination
            and self.combined.is_empty
            and all(w.is_empty for w in self.windows.values())
        )

    def to_bytes(self) -> bytes:
        """Compact JSON; category keys go in as they are and orjson writes their values.

        The windows' encodings come last, joined in after orjson's encoding of the
        rest: each is copied once, into bytes of the state's own size (kept: see
        :mod:`alerting.encoding`).
        """
        plain: dict[str, Any] = {
            "v": _STATE_FORMAT,
            "id": self.broadcast_id,
            "wm": self.watermark,
            "ctx": [
                self.broadcaster_id,
                self.platform,
                self.media_type,
                self.region,
                self.viewers,
            ],
            "i": {c: i.to_plain() for c, i in self.incidents.items()},
            "k": self.last_incident_key_ms,
            "c": {c: i.to_plain() for c, i in self.coordination.items()},
            "ck": self.last_coordination_key_ms,
            "r": {c: r.to_plain() for c, r in self.ramps.items()},
            "h": self.history.to_plain(),
        }
        if self.input_offset is not None:
            plain["o"] = self.input_offset
        if self.record_clock is not None:
            plain["rc"] = self.record_clock
        if self.taught_rate is not None:
            plain["tr"] = self.taught_rate
        if self.next_arrival:
            plain["n"] = self.next_arrival
        parts = [orjson.dumps(plain, option=orjson.OPT_NON_STR_KEYS)[:-1], b',"w":{']
        for category, window in self.windows.items():
            if not window.is_empty:
                parts += (_WINDOW_KEYS[category], window.encoded(), b",")
        if parts[-1] == b",":
            parts.pop()
        if self.shared is not None and self.shares_combined:
            parts += (b'},"a":', orjson.dumps(self.shared.value), b"}")
        else:
            parts += (b'},"a":', self.combined.encoded(), b"}")
        return b"".join(parts)

    @classmethod
    def from_bytes(cls, data: bytes) -> BroadcastState:
        return cls.from_plain(orjson.loads(data))

    @classmethod
    def from_plain(cls, plain: dict[str, Any]) -> BroadcastState:
        """A state from its parsed record, each window apart already given its ``"r"``."""
        if plain.get("v") not in _READABLE_FORMATS:
            raise ValueError(f"unknown broadcast state format {plain.get('v')!r}")
        broadcaster_id, platform, media_type, region, viewers = plain["ctx"]
        routed = plain["v"] >= _ROUTED_FORMAT
        windows = {Category(c): CategoryWindow.from_plain(w) for c, w in plain["w"].items()}
        stored_combined = plain.get("a")
        shared = Category(stored_combined) if isinstance(stored_combined, str) else None
        if shared is not None and shared in windows:
            combined = windows[shared]
        elif isinstance(stored_combined, dict):
            combined = CategoryWindow.from_plain(stored_combined)
        else:
            combined, shared = CategoryWindow(), None
        return cls(
            broadcast_id=plain["id"],
            watermark=None if plain["wm"] is None else float(plain["wm"]),
            broadcaster_id=broadcaster_id,
            platform=Platform(platform) if platform else None,
            media_type=MediaType(media_type) if media_type else None,
            region=region,
            viewers=viewers,
            windows=windows,
            combined=combined,
            shared=shared,
            history=BroadcastHistory.from_plain(plain["h"]) if "h" in plain else BroadcastHistory(),
            incidents={key: Incident.from_plain(i) for key, i in plain["i"].items()},
            last_incident_key_ms={k: int(ms) for k, ms in plain["k"].items()} if routed else {},
            coordination={key: Incident.from_plain(i) for key, i in plain.get("c", {}).items()},
            last_coordination_key_ms=(
                {k: int(ms) for k, ms in plain.get("ck", {}).items()} if routed else {}
            ),
            ramps={Category(c): RampState.from_plain(r) for c, r in plain.get("r", {}).items()},
            record_clock=None if plain.get("rc") is None else float(plain["rc"]),
            taught_rate=None if plain.get("tr") is None else float(plain["tr"]),
            input_offset=plain.get("o"),
            unrouted=not routed and bool(plain["i"] or plain.get("c")),
            next_arrival=int(plain["n"])
            if "n" in plain
            else max(w.next_arrival for w in (combined, *windows.values())),
        )

"""A broadcast's state as table records: one record, or a head and a record per bucket.

Why: a state written as one record is encoded and sent whole however little of it
changed. A busy broadcast's windows hold every distinct reporter of the last minutes,
so once they were full the worker encoded and sent far more than it decided, and fell
behind its input. A window holding more than :data:`APART_ABOVE` reporters is
therefore stored *apart*: the state's record (its head) names the window's buckets
(``"rb"``), and each bucket's reporters are a record of their own, written only when
that bucket changed and deleted (a tombstone) when it empties or leaves the window.
A write then costs what changed, mostly the newest bucket. A window is stored inline
again once it holds :data:`INLINE_AT` reporters or fewer, so one that hovers at the
threshold does not move back and forth on every write.

Keys: the head's is the broadcast id (UTF-8), as ever; a bucket's is the broadcast
id, 0xFF, the window's tag (its category, or :data:`COMBINED_TAG` for the
broadcast-wide window), 0xFF and the bucket's number::

    b"stream-42"                         the head
    b"stream-42\\xffharassment\\xff177812"  harassment's reporters last seen in bucket 177812

0xFF never occurs in UTF-8, so the broadcast is everything before the first one
(:func:`owner_key`) and the table puts each record on its broadcast's partition: the
worker that owns the broadcast restores all of it.

Order: a head follows its bucket records (:func:`state_records` returns it last, and
the changelog writes a partition's records in the order they were queued), so a head
in Kafka never names a bucket newer than the record Kafka holds for it. A write cut
short leaves buckets newer than their head, whose reporters a re-delivered report
finds already counted; never a head whose buckets are missing.

Every record is no larger than the whole state inline would be, so the bound on a
state's size (:mod:`alerting.limits`) bounds each record.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import orjson

from alerting.state import BroadcastState
from alerting.window import CategoryWindow
from models.report import Category

SEPARATOR = b"\xff"
"""Between the parts of a bucket record's key; never in a UTF-8 broadcast id."""
COMBINED_TAG = "*"
"""The broadcast-wide window's tag (no category is named so)."""
APART_ABOVE = 64
"""A window with more reporters than this is stored apart."""
INLINE_AT = 32
"""A window stored apart goes back inline once it holds this many reporters or fewer."""
_TAGS = {category: category.value for category in Category}
"""Each category's window tag: an enum's ``value`` is a Python-level property, read for
every stored window of every state written."""


def owner_key(key: bytes) -> bytes:
    """The head key of the broadcast a table key belongs to (a key that starts with
    :data:`SEPARATOR`, a learner's, is its own)."""
    return key.partition(SEPARATOR)[0] or key


def is_head_key(key: bytes) -> bool:
    """Whether ``key`` is a broadcast's head (not a bucket record, not a learner)."""
    return SEPARATOR not in key


def bucket_key(broadcast_key: bytes, tag: str, bucket: int) -> bytes:
    return b"%b\xff%b\xff%d" % (broadcast_key, tag.encode(), bucket)


def state_records(state: BroadcastState) -> dict[bytes, bytes | None]:
    """What to write for ``state`` now: changed bucket records, tombstones, then the head.

    Remembers what it returned (each window's :attr:`~CategoryWindow.stored_buckets`,
    the state's :attr:`~BroadcastState.stored_apart`): the caller writes all of it.
    """
    key = state.broadcast_id.encode()
    apart = {tag: window for tag, window in _stored_windows(state) if _keeps_apart(window)}
    records: dict[bytes, bytes | None] = {}
    for tag, (window, _) in state.stored_apart.items():
        if apart.get(tag) is not window:
            records.update(dict.fromkeys(_keys_of(key, tag, window), None))
            window.store_apart(False)
    written: dict[str, tuple[CategoryWindow, bytes]] = {}
    for tag, window in apart.items():
        window.store_apart(True)
        encoded = window.encoded()
        written[tag] = window, encoded
        last = state.stored_apart.get(tag)
        if last is not None and last[1] is encoded:
            continue  # the window has not changed since the last write, nor its buckets
        stored = window.stored_buckets
        assert stored is not None
        for bucket in window.reporters_by_bucket:
            members = window.bucket_members(bucket)
            if stored.get(bucket) != members:
                records[bucket_key(key, tag, bucket)] = b"{%b}" % members
            stored[bucket] = members  # the window's own copy, not one read back on restore
        for bucket in [b for b in stored if b not in window.reporters_by_bucket]:
            records[bucket_key(key, tag, bucket)] = None
            del stored[bucket]
    state.stored_apart = written
    records[key] = state.to_bytes()
    return records


def state_keys(state: BroadcastState) -> list[bytes]:
    """Every key the table holds for ``state``: what deleting the broadcast deletes."""
    key = state.broadcast_id.encode()
    apart = state.stored_apart.items()
    return [key, *(k for tag, (window, _) in apart for k in _keys_of(key, tag, window))]


def restore_state(head: bytes, lookup: Callable[[bytes], bytes | None]) -> BroadcastState:
    """The state whose head is ``head``; ``lookup`` reads a bucket record from the table.

    A bucket the head names whose record is missing counts as empty: only a write cut
    short between a tombstone and its head could leave one, and the head that follows
    a complete write no longer names it.
    """
    plain = orjson.loads(head)
    key = str(plain["id"]).encode()
    stored: dict[str, dict[int, bytes]] = {}
    for tag, plain_window in _plain_windows(plain):
        buckets = plain_window.pop("rb", None)
        if buckets is None:
            continue
        members: dict[int, bytes] = {}
        for bucket in buckets:
            record = lookup(bucket_key(key, tag, int(bucket)))
            if record is not None and len(record) > 2:
                members[int(bucket)] = record[1:-1]
        plain_window["r"] = orjson.loads(b"{%b}" % b",".join(members.values()))
        stored[tag] = members
    state = BroadcastState.from_plain(plain)
    for tag, members in stored.items():
        window = state.combined if tag == COMBINED_TAG else state.windows[Category(tag)]
        window.stored_buckets = members
        state.stored_apart[tag] = window, b""  # no head written by this worker yet
    return state


def _keeps_apart(window: CategoryWindow) -> bool:
    limit = APART_ABOVE if window.stored_buckets is None else INLINE_AT
    return len(window.reporters) > limit


def _stored_windows(state: BroadcastState) -> Iterator[tuple[str, CategoryWindow]]:
    """The windows the head stores, by tag: the broadcast-wide one only when it is not a
    category's own (:attr:`BroadcastState.shares_combined`)."""
    for category, window in state.windows.items():
        if not window.is_empty:
            yield _TAGS[category], window
    if not state.shares_combined:
        yield COMBINED_TAG, state.combined


def _plain_windows(plain: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    yield from plain["w"].items()
    if isinstance(plain.get("a"), dict):
        yield COMBINED_TAG, plain["a"]


def _keys_of(broadcast_key: bytes, tag: str, window: CategoryWindow) -> list[bytes]:
    return [bucket_key(broadcast_key, tag, bucket) for bucket in window.stored_buckets or ()]

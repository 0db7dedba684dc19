"""Kept JSON is the JSON orjson writes, in an object no bigger than it needs."""

from __future__ import annotations

import tracemalloc

import orjson

from alerting.encoding import stored_json


def test_stored_json_is_orjsons_output() -> None:
    value = {"id": "b-1", "w": [[1, 2], [3, 4]], "k": 1.5}
    assert stored_json(value) == orjson.dumps(value)
    assert stored_json({1: "x"}, option=orjson.OPT_NON_STR_KEYS) == b'{"1":"x"}'


def test_stored_json_does_not_keep_orjsons_output_buffer() -> None:
    value = {"id": "b-1", "reporters": ["a" * 16] * 10}
    size = len(orjson.dumps(value))
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        kept = [stored_json(value) for _ in range(100)]
        held = (tracemalloc.get_traced_memory()[0] - before) / len(kept)
    finally:
        tracemalloc.stop()
    assert held < size + 200, f"{held:.0f} bytes held for {size} bytes of JSON"

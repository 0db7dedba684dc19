"""JSON for values that are kept: exact-size bytes instead of orjson's output buffers.

``orjson.dumps`` returns its bytes in the buffer it wrote them to, which is at
least 4 KiB however short the JSON is. That is right for a value sent and
dropped, but a broadcast state (and its cached window encodings) lives in the
table for as long as the broadcast is active: with many broadcasts the
buffers alone took far more memory than the JSON in them (figures: "What was made
faster" in ``docs/benchmarks.md``), where a copy of a few hundred bytes costs well
under a microsecond.
"""

from __future__ import annotations

from typing import Any

import orjson


def stored_json(value: Any, option: int = 0) -> bytes:
    """``value`` as JSON in a bytes object of its own size, for keeping."""
    return bytes(memoryview(orjson.dumps(value, option=option)))

"""Start the Faust worker for :mod:`streams.app` with our JSON logging.

Topics are checked once before Faust starts so that an unreachable broker or a
wrongly partitioned input topic is one clear line on the terminal, not a
traceback from inside Faust's start-up (the app checks again for
``faust -A streams.app worker``).

``quiet=True`` drops Faust's coloured start-up banner, so standard error carries
only JSON lines that a log pipeline can parse.
"""

from __future__ import annotations

import asyncio

import faust

from streams.app import spikewatch
from streams.topics import ensure_topics


def run_worker() -> int:
    settings = spikewatch.settings
    asyncio.run(ensure_topics(settings, spikewatch.policy))
    worker = faust.Worker(spikewatch.app, loglevel=settings.log_level.upper(), quiet=True)
    worker.execute_from_commandline()
    return 0

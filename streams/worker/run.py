"""Start the Faust worker for :mod:`streams.worker.app` with our JSON logging.

Topics are prepared before Faust starts so that an unreachable broker or a
wrongly partitioned input topic is one clear line on the terminal, not a
traceback from inside Faust's start-up; the app then skips the same step, which
it performs itself only under ``faust -A streams.worker.app worker``.

``quiet=True`` drops Faust's coloured start-up banner, so standard error carries
only JSON lines that a log pipeline can parse.
"""

from __future__ import annotations

import asyncio

import faust

from streams.settings import Settings
from streams.worker.app import create
from streams.worker.faust_app import CRASH_EXIT_STATUS


def run_worker(settings: Settings) -> int:
    """The process's status: 0 after an orderly stop, ``CRASH_EXIT_STATUS`` after a crash
    (Faust re-raises the crash's cause as it stops; it was logged as ``worker_crashed``)."""
    spikewatch = create(settings)
    asyncio.run(spikewatch.app.prepare_topics())
    worker = faust.Worker(spikewatch.app, loglevel=settings.log_level.upper(), quiet=True)
    try:
        worker.execute_from_commandline()
    except SystemExit as stopped:  # how mode's worker always ends, with 1 after a crash
        if spikewatch.app.crashing:
            return CRASH_EXIT_STATUS
        return stopped.code if isinstance(stopped.code, int) else 1
    return 0

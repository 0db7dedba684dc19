"""Start the Faust worker for :mod:`streams.app` with our JSON logging.

``quiet=True`` drops Faust's coloured start-up banner, so standard error carries
only JSON lines that a log pipeline can parse.
"""

from __future__ import annotations

import asyncio

import faust

from streams.app import spikewatch
from streams.logs import get_logger
from streams.topics import ensure_topics


def run_worker() -> int:
    settings = spikewatch.settings
    created = asyncio.run(ensure_topics(settings, spikewatch.policy))
    if created:
        get_logger("spikewatch.worker").info("topics_created", topics=created)
    worker = faust.Worker(spikewatch.app, loglevel=settings.log_level.upper(), quiet=True)
    worker.execute_from_commandline()
    return 0

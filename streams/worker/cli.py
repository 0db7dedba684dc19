"""``spikewatch worker``: its command line."""

from __future__ import annotations

import argparse

from streams.commands import Subcommands
from streams.logs import configure_logging
from streams.settings import load_settings


def add_worker(commands: Subcommands) -> None:
    worker = commands.add_parser("worker", help="run the Faust worker")
    worker.set_defaults(run=_run_worker)


def _run_worker(_args: argparse.Namespace) -> int:
    settings = load_settings()
    configure_logging(settings.log_level)
    from streams.worker.run import run_worker

    return run_worker(settings)

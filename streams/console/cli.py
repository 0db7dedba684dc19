"""``spikewatch console``: its command line."""

from __future__ import annotations

import argparse
import asyncio

from alerting.policy import load_policy
from streams.commands import Subcommands
from streams.logs import configure_logging
from streams.settings import load_settings


def add_console(commands: Subcommands) -> None:
    console = commands.add_parser(
        "console", help="the incident console: open incidents live, evidence, acks, verdicts"
    )
    console.set_defaults(run=_run_console)


def _run_console(_args: argparse.Namespace) -> int:
    from streams.console.run import serve_console

    settings = load_settings()
    configure_logging(settings.log_level)
    return asyncio.run(serve_console(settings, load_policy(settings.policy_file)))

"""``spikewatch notify``: its command line."""

from __future__ import annotations

import argparse
import asyncio

from alerting.policy import load_policy
from streams.commands import Subcommands
from streams.logs import configure_logging
from streams.settings import load_settings


def add_notify(commands: Subcommands) -> None:
    notify = commands.add_parser(
        "notify",
        help="deliver escalations to Alertmanager, PagerDuty, Slack and case tools",
        description="Reads SPIKEWATCH_NOTIFY_SINKS_FILE (see docs/notify.md).",
    )
    notify.set_defaults(run=_run_notify)


def _run_notify(_args: argparse.Namespace) -> int:
    from oncall.delivery.config import SinksError, load_sinks
    from streams.notify.service import run_notify

    settings = load_settings()
    configure_logging(settings.log_level)
    if settings.notify_sinks_file is None:
        raise SinksError("SPIKEWATCH_NOTIFY_SINKS_FILE is not set (docs/notify.md has an example)")
    config = load_sinks(settings.notify_sinks_file)
    teams = load_policy(settings.policy_file).teams
    return asyncio.run(run_notify(settings, config, frozenset(teams)))

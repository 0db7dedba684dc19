"""``spikewatch``: the worker and the commands around it.

Errors a person sees are one line that says what to do; details go to the logs.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from aiokafka.errors import KafkaConnectionError

from models.errors import SpikewatchError
from streams.bench.cli import add_bench, add_notify_bench
from streams.console.cli import add_console
from streams.kafka.clients import KafkaUnreachableError
from streams.notify.cli import add_notify
from streams.replay.cli import add_calibrate, add_replay
from streams.settings import SettingsError, load_settings
from streams.tools.cli import (
    add_check,
    add_demo,
    add_produce,
    add_respond,
    add_schema,
    add_soak,
    add_tail,
)
from streams.worker.cli import add_worker


def main(argv: Sequence[str] | None = None) -> int:
    """The one place errors become what a person reads: a line, then the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args))
    except KafkaConnectionError:
        problem: SpikewatchError = KafkaUnreachableError(
            f"cannot reach Kafka at {_bootstrap_named(args)}"
        )
    except SpikewatchError as error:
        problem = error
    except KeyboardInterrupt:
        return 130
    print(f"error: {problem.line()}", file=sys.stderr)
    return problem.exit_code


def _bootstrap_named(args: argparse.Namespace) -> str:
    """The address the command tried, and where it came from, so the line says what to fix."""
    given = getattr(args, "bootstrap", None)
    if given:
        return f"{given} (--bootstrap)"
    try:
        return f"{load_settings().kafka_bootstrap} (SPIKEWATCH_KAFKA_BOOTSTRAP)"
    except SettingsError:
        return "SPIKEWATCH_KAFKA_BOOTSTRAP"


def _parser() -> argparse.ArgumentParser:
    """Every package's commands, in the order ``--help`` lists them."""
    parser = argparse.ArgumentParser(prog="spikewatch", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    for add in (
        add_worker,
        add_demo,
        add_produce,
        add_respond,
        add_replay,
        add_calibrate,
        add_console,
        add_notify,
        add_notify_bench,
        add_tail,
        add_bench,
        add_soak,
        add_schema,
        add_check,
    ):
        add(commands)
    return parser


if __name__ == "__main__":
    sys.exit(main())

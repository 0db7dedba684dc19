"""The tools' commands (``demo``, ``produce``, ``respond``, ``tail``, ``soak``, ``schema``):
their command lines."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

import orjson

from streams.commands import Subcommands
from streams.settings import load_settings


def add_demo(commands: Subcommands) -> None:
    demo = commands.add_parser(
        "demo", help="local broker + worker + live traffic, printing escalations"
    )
    demo.add_argument("--duration", type=float, default=75.0, help="seconds; 0 = until Ctrl-C")
    demo.add_argument("--rate", type=float, default=40.0, help="background reports per second")
    demo.add_argument("--kafka-port", type=int, default=19092)
    demo.add_argument("--web-port", type=int, default=16066)
    demo.add_argument("--console-port", type=int, default=18086)
    demo.add_argument("--alertmanager-port", type=int, default=19095)
    demo.set_defaults(run=_run_demo)


def add_produce(commands: Subcommands) -> None:
    produce = commands.add_parser("produce", help="send synthetic reports to the input topic")
    produce.add_argument("--rate", type=float, default=50.0, help="background reports per second")
    produce.add_argument("--duration", type=float, default=60.0, help="seconds")
    produce.add_argument("--broadcasts", type=int, default=200)
    produce.add_argument("--surge-at", type=float, default=None, help="seconds into the run")
    produce.add_argument("--malformed-every", type=int, default=0, help="one in N messages")
    produce.add_argument("--seed", type=int, default=7)
    produce.add_argument(
        "--scenario",
        default=None,
        help="send a named, labelled scenario as fast as possible (mixed, its parts, the "
        "confounders and their mix real_world; docs/detection.md lists them)",
    )
    produce.add_argument(
        "--out", default=None, help="with --scenario: write a JSON-lines log here ('-' = stdout)"
    )
    produce.set_defaults(run=_run_produce)


def add_respond(commands: Subcommands) -> None:
    respond = commands.add_parser(
        "respond", help="simulated on-call: acknowledge and resolve pages (demos only)"
    )
    respond.add_argument("--duration", type=float, default=0.0, help="seconds; 0 = until Ctrl-C")
    respond.add_argument("--ack-mean", type=float, default=60.0, help="mean seconds to ack")
    respond.add_argument("--resolve-mean", type=float, default=240.0, help="mean ack to resolve")
    respond.add_argument("--miss-share", type=float, default=0.2, help="pages never answered")
    respond.add_argument("--resolve-share", type=float, default=0.5, help="acked pages resolved")
    respond.add_argument("--seed", type=int, default=7)
    respond.set_defaults(run=_run_respond)


def add_tail(commands: Subcommands) -> None:
    tail = commands.add_parser("tail", help="follow the on-call escalation topics")
    tail.add_argument("--from-beginning", action="store_true")
    tail.add_argument("--pretty", action="store_true", help="one readable line per event")
    tail.set_defaults(run=_run_tail)


def add_soak(commands: Subcommands) -> None:
    soak = commands.add_parser(
        "soak", help="local broker + worker under steady traffic; prints RSS and lag over time"
    )
    soak.add_argument("--duration", type=float, default=300.0, help="seconds of traffic")
    soak.add_argument("--rate", type=float, default=500.0, help="reports per second")
    soak.add_argument("--broadcasts", type=int, default=5000)
    soak.add_argument("--sample-every", type=float, default=5.0, help="seconds between lines")
    soak.add_argument(
        "--warm-up",
        type=float,
        default=None,
        help="seconds before RSS growth is judged (default: how long the worker's policy lets"
        " a broadcast's state grow, plus a margin)",
    )
    soak.set_defaults(run=_run_soak)


def add_check(commands: Subcommands) -> None:
    check = commands.add_parser(
        "check",
        help="check the settings, policies and sinks file a deployment would load",
        description="Offline, in this environment: run it with the deployment's SPIKEWATCH_* "
        "variables and secrets. Exit 1 when a line says 'problem'.",
    )
    check.add_argument(
        "--policy", type=Path, default=None, help="check this policy file, not the settings' one"
    )
    check.add_argument(
        "--against",
        type=Path,
        default=None,
        help="the policy this one replaces: list the figures that change",
    )
    check.set_defaults(run=_run_check)


def add_schema(commands: Subcommands) -> None:
    schema = commands.add_parser("schema", help="write the JSON Schema files of the contracts")
    schema.add_argument("--check", action="store_true", help="exit 1 if they are out of date")
    schema.set_defaults(run=_run_schema)


def _run_demo(args: argparse.Namespace) -> int:
    from streams.tools.demo import DemoOptions, run_demo

    return asyncio.run(
        run_demo(
            DemoOptions(
                duration=args.duration,
                rate=args.rate,
                kafka_port=args.kafka_port,
                web_port=args.web_port,
                console_port=args.console_port,
                alertmanager_port=args.alertmanager_port,
            )
        )
    )


def _run_produce(args: argparse.Namespace) -> int:
    from streams.tools.produce import ProducePlan, produce_scenario, produce_traffic

    settings = load_settings()
    if args.scenario is not None:
        return produce_scenario(settings, args.scenario, args.seed, args.out)
    plan = ProducePlan(
        rate=args.rate,
        duration=args.duration,
        broadcasts=args.broadcasts,
        surge_at=args.surge_at,
        malformed_every=args.malformed_every,
        seed=args.seed,
    )
    sent = asyncio.run(produce_traffic(settings, plan))
    print(f"sent {sent} messages to {settings.input_topic}", file=sys.stderr)
    return 0


def _run_respond(args: argparse.Namespace) -> int:
    from streams.tools.respond import ResponderHabits, respond

    habits = ResponderHabits(
        acknowledge_mean_seconds=args.ack_mean,
        resolve_mean_seconds=args.resolve_mean,
        miss_share=args.miss_share,
        resolve_share=args.resolve_share,
        seed=args.seed,
    )
    settings = load_settings()
    pages = asyncio.run(respond(settings, habits, args.duration))
    print(f"saw {pages} pages; answers went to {settings.ack_topic}", file=sys.stderr)
    return 0


def _run_tail(args: argparse.Namespace) -> int:
    from streams.kafka.clients import follow_escalations
    from streams.kafka.security import client_options
    from streams.tools.render import describe

    settings = load_settings()

    async def tail() -> None:
        async for topic, escalation in follow_escalations(
            settings.kafka_bootstrap,
            settings.oncall_topic_prefix,
            from_beginning=args.from_beginning,
            **client_options(settings),
        ):
            if args.pretty:
                print(describe(topic, escalation), flush=True)
            else:
                line = orjson.loads(escalation.to_json_bytes())
                print(orjson.dumps({"topic": topic, **line}).decode(), flush=True)

    asyncio.run(tail())
    return 0


def _run_soak(args: argparse.Namespace) -> int:
    from alerting.policy import load_policy
    from streams.tools.soak import SoakOptions, run_soak, warm_up_seconds

    warm_up = args.warm_up
    if warm_up is None:
        warm_up = warm_up_seconds(load_policy(load_settings().policy_file))
    return run_soak(
        SoakOptions(
            duration=args.duration,
            rate=args.rate,
            broadcasts=args.broadcasts,
            sample_every=args.sample_every,
            warm_up=warm_up,
        )
    )


def _run_check(args: argparse.Namespace) -> int:
    from streams.tools.check import run_check

    return run_check(args.policy, args.against)


def _run_schema(args: argparse.Namespace) -> int:
    from models.schema import stale_schemas, write_schemas

    if args.check:
        stale = stale_schemas()
        if stale:
            print(
                f"error: out of date: {', '.join(stale)}; run 'spikewatch schema'", file=sys.stderr
            )
            return 1
        return 0
    for path in write_schemas():
        print(path)
    return 0

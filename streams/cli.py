"""``spikewatch``: the worker and the commands around it.

Errors a person sees are one line that says what to do; details go to the logs.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

import orjson
from aiokafka.errors import KafkaConnectionError

from alerting.policy import load_policy
from models.decode import Rejection
from models.errors import SpikewatchError
from streams.kafka.clients import KafkaUnreachableError
from streams.logs import configure_logging
from streams.settings import load_settings


def main(argv: Sequence[str] | None = None) -> int:
    """The one place errors become what a person reads: a line, then the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args))
    except KafkaConnectionError:
        problem: SpikewatchError = KafkaUnreachableError(
            "cannot reach Kafka at SPIKEWATCH_KAFKA_BOOTSTRAP"
        )
    except SpikewatchError as error:
        problem = error
    except KeyboardInterrupt:
        return 130
    print(f"error: {problem.line()}", file=sys.stderr)
    return problem.exit_code


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="spikewatch", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    worker = commands.add_parser("worker", help="run the Faust worker")
    worker.set_defaults(run=_run_worker)

    demo = commands.add_parser(
        "demo", help="local broker + worker + live traffic, printing escalations"
    )
    demo.add_argument("--duration", type=float, default=75.0, help="seconds; 0 = until Ctrl-C")
    demo.add_argument("--rate", type=float, default=40.0, help="background reports per second")
    demo.add_argument("--kafka-port", type=int, default=19092)
    demo.add_argument("--web-port", type=int, default=16066)
    demo.add_argument("--console-port", type=int, default=18086)
    demo.set_defaults(run=_run_demo)

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
        help="send a named, labelled scenario (mixed, background, viral, surge, ramp, "
        "child_safety, repeat_clicker, coordinated, malformed) as fast as possible",
    )
    produce.add_argument(
        "--out", default=None, help="with --scenario: write a JSON-lines log here ('-' = stdout)"
    )
    produce.set_defaults(run=_run_produce)

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
    replay = commands.add_parser(
        "replay",
        help="run a report log through the worker's code; escalations as JSON lines on stdout",
    )
    replay.add_argument("log", nargs="?", help="JSON-lines report log ('-' = stdin)")
    replay.add_argument("--topic", help="replay this Kafka topic instead of a file")
    replay.add_argument("--from-offset", type=int, default=None)
    replay.add_argument("--to-offset", type=int, default=None, help="exclusive")
    replay.add_argument("--from-time", default=None, help="RFC 3339; Kafka message timestamps")
    replay.add_argument("--to-time", default=None, help="RFC 3339, exclusive")
    replay.add_argument("--policy", default=None, help="policy file (default: the worker's)")
    replay.add_argument(
        "--fixed-threshold", type=int, default=5, help="reports in 5 min of the comparison rule"
    )
    replay.add_argument("--card", default=None, help="also write the scored figures (JSON) here")
    replay.add_argument(
        "--verdicts",
        default=None,
        metavar="TOPIC|FILE",
        help="score against people's verdicts (Verdict v1): a JSON-lines file or a topic",
    )
    replay.add_argument(
        "--verdict-window",
        type=float,
        default=900.0,
        help="seconds between a live incident's start and a replayed page that still match",
    )
    replay.add_argument("--no-progress", action="store_true")
    replay.set_defaults(run=_run_replay)

    calibrate = commands.add_parser(
        "calibrate", help="learn the categories' base rates from a report log; write a policy"
    )
    calibrate.add_argument("log", nargs="?", help="JSON-lines report log ('-' = stdin)")
    calibrate.add_argument("--topic", help="read this Kafka topic (from its start) instead")
    calibrate.add_argument(
        "--policy", default=None, help="policy to start from (default: the worker's)"
    )
    calibrate.add_argument("--output", default="-", help="policy file to write ('-' = stdout)")
    calibrate.set_defaults(run=_run_calibrate)

    console = commands.add_parser(
        "console", help="the incident console: open incidents live, evidence, acks, verdicts"
    )
    console.set_defaults(run=_run_console)

    notify = commands.add_parser(
        "notify",
        help="deliver escalations to Alertmanager, PagerDuty, Slack and case tools",
        description="Reads SPIKEWATCH_NOTIFY_SINKS_FILE (see docs/notify.md).",
    )
    notify.set_defaults(run=_run_notify)

    notify_bench = commands.add_parser(
        "notify-bench",
        help="measure notify's delivery latency at the demo's load and in a burst",
        description="Starts its own broker on free loopback ports unless --bootstrap is given.",
    )
    notify_bench.add_argument("--demo-rate", type=float, default=2.0, help="escalations/s")
    notify_bench.add_argument("--demo-seconds", type=float, default=20.0)
    notify_bench.add_argument("--burst-rate", type=float, default=1000.0, help="escalations/s")
    notify_bench.add_argument("--burst-seconds", type=float, default=5.0)
    notify_bench.add_argument("--bootstrap", help="use this running broker")
    notify_bench.set_defaults(run=_run_notify_bench)

    tail = commands.add_parser("tail", help="follow the on-call escalation topics")
    tail.add_argument("--from-beginning", action="store_true")
    tail.add_argument("--pretty", action="store_true", help="one readable line per event")
    tail.set_defaults(run=_run_tail)

    _add_bench(commands)
    soak = commands.add_parser(
        "soak", help="local broker + worker under steady traffic; prints RSS and lag over time"
    )
    soak.add_argument("--duration", type=float, default=300.0, help="seconds of traffic")
    soak.add_argument("--rate", type=float, default=500.0, help="reports per second")
    soak.add_argument("--broadcasts", type=int, default=5000)
    soak.add_argument("--sample-every", type=float, default=5.0, help="seconds between lines")
    soak.add_argument(
        "--warm-up", type=float, default=400.0, help="seconds before RSS growth is judged"
    )
    soak.set_defaults(run=_run_soak)

    schema = commands.add_parser("schema", help="write the JSON Schema files of the contracts")
    schema.add_argument("--check", action="store_true", help="exit 1 if they are out of date")
    schema.set_defaults(run=_run_schema)
    return parser


def _add_bench(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    bench = commands.add_parser(
        "bench",
        help="measure the worker against plain aiokafka loops on a local broker",
        description="Starts its own broker on free loopback ports unless --bootstrap is given; "
        "prints a table (or --json) with medians and ratios to B1.",
    )
    size = bench.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="a first look in under two minutes")
    size.add_argument("--tiny", action="store_true", help="proves the benchmark runs; no figures")
    bench.add_argument("--json", action="store_true", help="one JSON object on stdout")
    bench.add_argument("--reports", type=int, help="pre-filled reports (200,000)")
    bench.add_argument("--broadcasts", type=int, help="broadcasts they spread over (2,000)")
    bench.add_argument("--repeat", type=int, help="throughput repetitions (3)")
    bench.add_argument("--latency-rate", type=float, help="background reports/s (5,000)")
    bench.add_argument("--latency-seconds", type=float, help="latency phase length (30)")
    bench.add_argument("--state-broadcasts", type=int, help="live broadcasts for RSS (100,000)")
    bench.add_argument("--bootstrap", help="use this running broker instead of starting one")
    bench.set_defaults(run=_run_bench)


def _run_bench(args: argparse.Namespace) -> int:
    from localkafka import BrokerError
    from streams.bench.measured import BenchError
    from streams.bench.options import BenchOptions
    from streams.bench.report import table, with_targets
    from streams.bench.run import run_bench

    options = BenchOptions.preset(quick=args.quick, tiny=args.tiny).with_overrides(
        **{name: getattr(args, name) for name in BenchOptions.command_line_fields()}
    )
    try:
        figures = with_targets(
            run_bench(options, lambda text: print(f"bench: {text}", file=sys.stderr, flush=True))
        )
    except BrokerError as error:
        raise BenchError(str(error)) from error
    print(orjson.dumps(figures).decode() if args.json else table(figures))
    return 0


def _run_worker(_args: argparse.Namespace) -> int:
    settings = load_settings()
    configure_logging(settings.log_level)
    from streams.worker.run import run_worker

    return run_worker(settings)


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
            )
        )
    )


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


def _run_notify_bench(args: argparse.Namespace) -> int:
    from streams.bench.notify import NotifyBenchOptions, run_notify_bench

    figures = run_notify_bench(
        NotifyBenchOptions(
            demo_rate=args.demo_rate,
            demo_seconds=args.demo_seconds,
            burst_rate=args.burst_rate,
            burst_seconds=args.burst_seconds,
            bootstrap=args.bootstrap,
        ),
        lambda text: print(f"notify-bench: {text}", file=sys.stderr, flush=True),
    )
    print(orjson.dumps(figures, option=orjson.OPT_INDENT_2).decode())
    return 0


def _run_produce(args: argparse.Namespace) -> int:
    from streams.tools.produce import ProducePlan, produce_scenario, produce_traffic

    settings = load_settings()
    if args.scenario is not None:
        return produce_scenario(
            settings, load_policy(settings.policy_file), args.scenario, args.seed, args.out
        )
    plan = ProducePlan(
        rate=args.rate,
        duration=args.duration,
        broadcasts=args.broadcasts,
        surge_at=args.surge_at,
        malformed_every=args.malformed_every,
        seed=args.seed,
    )
    sent = asyncio.run(produce_traffic(settings, load_policy(settings.policy_file), plan))
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


def _run_replay(args: argparse.Namespace) -> int:
    from streams.replay.command import ReplayOptions, run_replay

    settings = load_settings()
    policy = load_policy(args.policy or settings.policy_file)
    return run_replay(
        settings,
        policy,
        ReplayOptions(
            log=args.log,
            topic=args.topic,
            from_offset=args.from_offset,
            to_offset=args.to_offset,
            from_time=args.from_time,
            to_time=args.to_time,
            fixed_threshold=args.fixed_threshold,
            card=args.card,
            progress=not args.no_progress and sys.stderr.isatty(),
            verdicts=args.verdicts,
            verdict_window=args.verdict_window,
        ),
    )


def _run_calibrate(args: argparse.Namespace) -> int:
    """Read the log as replay does, learn as the worker does, write the policy with its rates."""
    import yaml

    from alerting.calibration import calibrate, with_base_rates
    from models.decode import decode_report
    from streams.replay.command import read_messages

    settings = load_settings()
    policy_file = args.policy or settings.policy_file
    policy = load_policy(policy_file)
    messages = read_messages(settings, args.log, args.topic)
    reports = (
        report
        for message in messages
        if not isinstance(
            report := decode_report(message.value, settings.max_message_bytes), Rejection
        )
    )
    rates = calibrate(reports, policy)
    with open(policy_file, encoding="utf-8") as source:
        document = with_base_rates(yaml.safe_load(source), rates)
    text = yaml.safe_dump(document, sort_keys=False, allow_unicode=True)
    if args.output == "-":
        sys.stdout.write(text)
    else:
        with open(args.output, "w", encoding="utf-8") as sink:
            sink.write(text)
    return 0


def _run_soak(args: argparse.Namespace) -> int:
    from streams.tools.soak import SoakOptions, run_soak

    return run_soak(
        SoakOptions(
            duration=args.duration,
            rate=args.rate,
            broadcasts=args.broadcasts,
            sample_every=args.sample_every,
            warm_up=args.warm_up,
        )
    )


def _run_console(_args: argparse.Namespace) -> int:
    from streams.console.run import serve_console

    settings = load_settings()
    configure_logging(settings.log_level)
    return asyncio.run(serve_console(settings, load_policy(settings.policy_file)))


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


if __name__ == "__main__":
    sys.exit(main())

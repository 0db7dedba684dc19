"""``spikewatch bench`` and ``spikewatch notify-bench``: their command lines."""

from __future__ import annotations

import argparse
import sys

import orjson

from streams.commands import Subcommands


def add_notify_bench(commands: Subcommands) -> None:
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


def add_bench(commands: Subcommands) -> None:
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

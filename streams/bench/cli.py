"""``spikewatch bench`` and ``spikewatch notify-bench``: their command lines."""

from __future__ import annotations

import argparse
import sys
from dataclasses import asdict

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
    bench.add_argument(
        "--scrape-every",
        type=float,
        help="seconds between reads of /metrics in the latency phase (15, as Prometheus; 0: none)",
    )
    bench.add_argument("--state-broadcasts", type=int, help="live broadcasts for RSS (100,000)")
    bench.add_argument("--bootstrap", help="use this running broker instead of starting one")
    bench.add_argument(
        "--against",
        metavar="CHECKOUT",
        help="also time the worker of this checkout (set up there with ./dev setup) on the "
        "same topic in every repetition, alternating with this one's",
    )
    bench.add_argument(
        "--instructions",
        action="store_true",
        help="instead: the worker's per-report instructions without Kafka, counted by "
        "callgrind (needs valgrind; 10,000 and 20,000 reports over 400 broadcasts unless given)",
    )
    bench.add_argument(
        "--core",
        action="store_true",
        help="instead: the decision core's CPU a report and live memory a broadcast, "
        "in-process without Kafka, alternating with --against's (60,000 reports over "
        "1,000 broadcasts, 5 runs, unless given)",
    )
    bench.set_defaults(run=_run_bench)


def _run_bench(args: argparse.Namespace) -> int:
    from streams.bench.measured import BenchError

    if args.instructions and args.core:
        raise BenchError(
            "--instructions and --core are two measurements of their own: run one at a time"
        )
    if args.instructions:
        if args.against:
            raise BenchError(
                "--instructions counts this checkout's code alone and takes no --against: "
                "run it in each checkout, or drop --instructions to time both workers"
            )
        return _count_instructions(args)
    if args.core:
        return _time_core(args)
    from localkafka import BrokerError
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


def _count_instructions(args: argparse.Namespace) -> int:
    from streams.bench.instructions import count_instructions

    count = count_instructions(
        reports=args.reports or 10_000, broadcasts=args.broadcasts or 400, fetch=8_000
    )
    if args.json:
        print(orjson.dumps({**asdict(count), "per_report": round(count.per_report)}).decode())
    else:
        print(
            f"{count.per_report:,.0f} instructions per report: decode, pipeline, core and "
            f"state encoding without Kafka ({count.instructions:,} for {count.reports:,} "
            f"reports and {count.instructions_doubled:,} for twice as many, over "
            f"{count.broadcasts:,} broadcasts in fetches of {count.fetch:,})"
        )
    return 0


def _time_core(args: argparse.Namespace) -> int:
    from pathlib import Path

    from streams.bench.against import other_checkout
    from streams.bench.core import core_figures, core_lines

    figures = core_figures(
        other_checkout(str(Path(__file__).resolve().parents[2])),
        other_checkout(args.against) if args.against else None,
        reports=args.reports or 60_000,
        broadcasts=args.broadcasts or 1_000,
        fetch=8_000,
        repeat=args.repeat or 5,
    )
    print(orjson.dumps(figures).decode() if args.json else "\n".join(core_lines(figures)))
    return 0

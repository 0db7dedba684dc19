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
from pydantic import ValidationError

from alerting.policy import PolicyError, load_policy
from streams.logs import configure_logging
from streams.settings import Settings
from streams.topics import TopicLayoutError


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args))
    except PolicyError as error:
        print(f"error: {error}; fix the policy file and retry", file=sys.stderr)
        return 2
    except ValidationError as error:
        print(f"error: {settings_problem(error)}; fix the environment and retry", file=sys.stderr)
        return 2
    except TopicLayoutError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KafkaConnectionError:
        print(
            "error: cannot reach Kafka at SPIKEWATCH_KAFKA_BOOTSTRAP; start the broker "
            "(python3 deploy/kafka/local_broker.py start --data-dir .run/kafka) or fix the address",
            file=sys.stderr,
        )
        return 2
    except KeyboardInterrupt:
        return 130


def settings_problem(error: ValidationError) -> str:
    """The first invalid setting as its variable name; never the value (it may be a secret)."""
    first = error.errors(include_url=False, include_input=False)[0]
    names = [f"SPIKEWATCH_{str(part).upper()}" for part in first["loc"]]
    return f"{', '.join(names) or 'settings'}: {first['msg']}"


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
    demo.set_defaults(run=_run_demo)

    produce = commands.add_parser("produce", help="send synthetic reports to the input topic")
    produce.add_argument("--rate", type=float, default=50.0, help="background reports per second")
    produce.add_argument("--duration", type=float, default=60.0, help="seconds")
    produce.add_argument("--broadcasts", type=int, default=200)
    produce.add_argument("--surge-at", type=float, default=None, help="seconds into the run")
    produce.add_argument("--malformed-every", type=int, default=0, help="one in N messages")
    produce.add_argument("--seed", type=int, default=7)
    produce.set_defaults(run=_run_produce)

    tail = commands.add_parser("tail", help="follow the on-call escalation topics")
    tail.add_argument("--from-beginning", action="store_true")
    tail.add_argument("--pretty", action="store_true", help="one readable line per event")
    tail.set_defaults(run=_run_tail)

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


def _run_worker(_args: argparse.Namespace) -> int:
    settings = Settings()
    configure_logging(settings.log_level)
    load_policy(settings.policy_file)
    from streams.worker import run_worker

    return run_worker()


def _run_demo(args: argparse.Namespace) -> int:
    from streams.demo import DemoOptions, run_demo

    return asyncio.run(
        run_demo(
            DemoOptions(
                duration=args.duration,
                rate=args.rate,
                kafka_port=args.kafka_port,
                web_port=args.web_port,
            )
        )
    )


def _run_produce(args: argparse.Namespace) -> int:
    from streams.produce import ProducePlan, produce_traffic

    settings = Settings()
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


def _run_soak(args: argparse.Namespace) -> int:
    from streams.soak import SoakOptions, run_soak

    return run_soak(
        SoakOptions(
            duration=args.duration,
            rate=args.rate,
            broadcasts=args.broadcasts,
            sample_every=args.sample_every,
            warm_up=args.warm_up,
        )
    )


def _run_tail(args: argparse.Namespace) -> int:
    from streams.kafka_io import follow_escalations
    from streams.render import describe
    from streams.security import client_options

    settings = Settings()

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

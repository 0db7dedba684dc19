"""The command line: ``fetch``, ``start``, ``stop``, ``status``, ``wipe`` (see ``--help``).

Every failure is one line on stderr that says what to do, and the exit code
tells "install something" (2) from "the broker broke" (1).
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from localkafka.broker import LocalBroker
from localkafka.errors import BrokerError
from localkafka.jvm import require_java
from localkafka.maven import fetch
from localkafka.process import running_pid, stop_broker
from localkafka.properties import (
    PROPERTIES_NAME,
    parse_config_pairs,
    read_properties,
    written_here,
)
from localkafka.protocol import metadata_request
from localkafka.version import KAFKA_VERSION


def _cmd_fetch(args: argparse.Namespace) -> int:
    began = time.monotonic()
    lib, fetched = fetch(force=args.force)
    if fetched:
        print(f"fetched kafka {KAFKA_VERSION} jars into {lib} ({time.monotonic() - began:.1f} s)")
    else:
        print(f"kafka {KAFKA_VERSION} jars already in {lib}")
    return 0


def _cmd_start(args: argparse.Namespace) -> int:
    require_java()
    began = time.monotonic()
    lib, fetched = fetch()
    if fetched:
        print(f"fetched kafka {KAFKA_VERSION} jars into {lib} ({time.monotonic() - began:.1f} s)")
    broker = LocalBroker(
        data_dir=args.data_dir,
        port=args.port,
        controller_port=args.controller_port,
        host=args.host,
        partitions=args.partitions,
        heap=args.heap,
        timeout=args.timeout,
        config=parse_config_pairs(args.config),
        scram=list(args.scram),
        stop_at_exit=False,
    )
    already = broker.is_running()
    broker.start()
    if already:
        print(f"kafka already running on {broker.bootstrap} (pid {broker.pid})")
    else:
        took = broker.startup_seconds or 0.0
        print(f"kafka ready on {broker.bootstrap} (pid {broker.pid}, {took:.1f} s)")
    return 0


def _cmd_stop(args: argparse.Namespace) -> int:
    began = time.monotonic()
    pid = stop_broker(args.data_dir, args.timeout)
    if pid is None:
        print(f"kafka not running ({Path(args.data_dir).resolve()})")
    else:
        print(f"kafka stopped (pid {pid}, {time.monotonic() - began:.1f} s)")
    return 0


def _cmd_status(args: argparse.Namespace) -> int:
    data_dir = Path(args.data_dir).resolve()
    pid = running_pid(data_dir)
    if pid is None:
        print(f"kafka not running ({data_dir})")
        return 1
    listeners = read_properties(data_dir / PROPERTIES_NAME).get("listeners", "")
    match = re.search(r"PLAINTEXT://([^:,]+):(\d+)", listeners)
    if not match:
        print(f"kafka running (pid {pid}); no PLAINTEXT listener to probe")
        return 0
    host, port = match.group(1), int(match.group(2))
    try:
        metadata_request(host, port, timeout=2.0)
    except OSError as exc:
        print(f"kafka running (pid {pid}) but not answering on {host}:{port} ({exc})")
    else:
        print(f"kafka running on {host}:{port} (pid {pid})")
    return 0


def _cmd_wipe(args: argparse.Namespace) -> int:
    data_dir = Path(args.data_dir).resolve()
    if not data_dir.exists():
        print(f"nothing to wipe ({data_dir} does not exist)")
        return 0
    if not written_here(data_dir / PROPERTIES_NAME) and any(data_dir.iterdir()):
        raise BrokerError(
            f"refusing to delete {data_dir}: it has no server.properties written by"
            " local_broker.py; delete it by hand if you are sure"
        )
    stop_broker(data_dir, args.timeout)
    shutil.rmtree(data_dir)
    print(f"wiped {data_dir}")
    return 0


def _config_pair(text: str) -> str:
    if "=" not in text or not text.partition("=")[0].strip():
        raise argparse.ArgumentTypeError(f"{text!r} is not KEY=VALUE (or KEY+=VALUE)")
    return text


def _port(text: str) -> int:
    port = int(text)
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a TCP port")
    return port


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="local_broker.py",
        description=f"Run a single-node Apache Kafka {KAFKA_VERSION} broker (KRaft) without"
        " Docker. Jars are cached in ${SPIKEWATCH_CACHE_DIR:-~/.cache/spikewatch}.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p_fetch = sub.add_parser("fetch", help="download the broker jars with Maven (once)")
    p_fetch.add_argument("--force", action="store_true", help="re-download even if cached")
    p_fetch.set_defaults(func=_cmd_fetch)

    p_start = sub.add_parser("start", help="format (first time) and start, wait until ready")
    p_start.add_argument("--data-dir", type=Path, required=True)
    p_start.add_argument("--port", type=_port, default=9092, help="PLAINTEXT port (9092)")
    p_start.add_argument("--controller-port", type=_port, default=9093, help="KRaft port (9093)")
    p_start.add_argument("--host", default="127.0.0.1", help="listen address (127.0.0.1)")
    p_start.add_argument("--partitions", type=int, default=4, help="num.partitions (4)")
    p_start.add_argument("--heap", default="1g", help="JVM -Xmx (1g)")
    p_start.add_argument("--timeout", type=float, default=60.0, help="readiness timeout, s")
    p_start.add_argument(
        "--config",
        action="append",
        type=_config_pair,
        default=[],
        metavar="KEY=VALUE",
        help="extra server.properties entry; repeatable; KEY+=VALUE appends to a list",
    )
    p_start.add_argument(
        "--scram",
        action="append",
        default=[],
        metavar="SPEC",
        help="SCRAM credential stored at first format, e.g."
        " 'SCRAM-SHA-512=[name=alice,password=secret]'",
    )
    p_start.set_defaults(func=_cmd_start)

    p_stop = sub.add_parser("stop", help="SIGTERM, then SIGKILL after --timeout")
    p_stop.add_argument("--data-dir", type=Path, required=True)
    p_stop.add_argument("--timeout", type=float, default=30.0)
    p_stop.set_defaults(func=_cmd_stop)

    p_status = sub.add_parser("status", help="exit 0 if running, 1 if not")
    p_status.add_argument("--data-dir", type=Path, required=True)
    p_status.set_defaults(func=_cmd_status)

    p_wipe = sub.add_parser("wipe", help="stop and delete the data dir")
    p_wipe.add_argument("--data-dir", type=Path, required=True)
    p_wipe.add_argument("--timeout", type=float, default=30.0)
    p_wipe.set_defaults(func=_cmd_wipe)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except BrokerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        if exc.details:
            print(exc.details, file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130

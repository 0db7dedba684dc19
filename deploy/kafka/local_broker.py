#!/usr/bin/env python3
"""Run a real single-node Apache Kafka 4.1.1 broker (KRaft) on 127.0.0.1, without Docker.

Why: the integration tests and local development need the genuine broker (its
protocol quirks, group coordinator and auto-creation behaviour are what we test
against), but neither CI runners nor laptops can be assumed to have Docker.
Java 17 and Maven are enough: Maven resolves the broker jars from Maven Central
once into a cache, then this script formats a data dir and runs ``kafka.Kafka``.

Stdlib only, so it works before the project's virtualenv exists. ``deploy/`` is
not a package, so pytest fixtures load this file by path::

    spec = importlib.util.spec_from_file_location("local_broker", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["local_broker"] = mod
    spec.loader.exec_module(mod)
    with mod.LocalBroker.on_free_ports(tmp_path / "kafka") as broker:
        ...  # broker.bootstrap == "127.0.0.1:<port>"

Command line: ``fetch``, ``start``, ``stop``, ``status``, ``wipe`` (see ``--help``).
"""
# No ``from __future__ import annotations`` on purpose: string annotations make
# ``dataclasses`` look the module up in ``sys.modules``, which breaks callers
# that exec this file by path without registering it first.

import argparse
import atexit
import base64
import contextlib
import fcntl
import functools
import hashlib
import itertools
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Self

KAFKA_VERSION = "4.1.1"
DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.6.1"
HERE = Path(__file__).resolve().parent
POM = HERE / "pom.xml"
LOG4J2_CONFIG = HERE / "log4j2.properties"

# Jars whose absence means the copy is unusable even if mvn said it succeeded.
REQUIRED_JARS = (
    f"kafka_2.13-{KAFKA_VERSION}.jar",
    f"kafka-clients-{KAFKA_VERSION}.jar",
    "log4j-core-2.24.3.jar",
    "log4j-slf4j-impl-2.24.3.jar",
)
COMPLETE_MARKER = ".spikewatch-fetch-complete"

# Metadata v4: plain (non-flexible) encoding, so no varints or tagged fields to
# parse, yet it reports cluster_id (v2+) and controller_id (v1+). Kafka 4.1.1
# answered every version v0..v13 when probed, so no ApiVersions round trip.
METADATA_API_KEY = 3
METADATA_VERSION = 4
MAX_RESPONSE_BYTES = 64 * 1024 * 1024
_correlation_ids = itertools.count(1)

PIDFILE_NAME = "broker.pid"
PROPERTIES_NAME = "server.properties"
PROPERTIES_HEADER = "# written by deploy/kafka/local_broker.py; rewritten on every start"
JAVA_HINT = "install a Java 17+ JDK (e.g. apt-get install openjdk-17-jre-headless) and retry"
MVN_HINT = "install Maven 3.8+ (e.g. apt-get install maven) and retry"


class BrokerError(RuntimeError):
    """A failure a person can act on.

    The message is always one line that says what to do; ``details`` (e.g. a log
    tail) is printed after it only when it helps. ``exit_code`` 2 means a
    required tool is missing, so wrappers can tell "install something" apart
    from "the broker broke".
    """

    def __init__(self, message: str, *, exit_code: int = 1, details: str = "") -> None:
        super().__init__(message)
        self.exit_code = exit_code
        self.details = details


class KafkaProtocolError(OSError):
    """A reply that is not a well-formed Metadata response.

    Subclasses OSError so the readiness loop treats it like any other transient
    network failure (a half-started broker may close or garble a connection).
    """


@dataclass(frozen=True)
class BrokerNode:
    """One broker entry of a Metadata response."""

    node_id: int
    host: str
    port: int
    rack: str | None


@dataclass(frozen=True)
class ClusterMetadata:
    """The parts of a Metadata response that prove the broker is usable."""

    correlation_id: int
    cluster_id: str | None
    controller_id: int
    brokers: tuple[BrokerNode, ...]


# --------------------------------------------------------------------------- tools


def cache_root() -> Path:
    """Where the jars live; shared by all data dirs so the 13 s fetch happens once."""
    base = os.environ.get("SPIKEWATCH_CACHE_DIR") or str(Path.home() / ".cache" / "spikewatch")
    return Path(base).expanduser() / f"kafka-{KAFKA_VERSION}"


@functools.cache
def require_java() -> str:
    """Find java and refuse old ones up front; a Java 11 JVM would otherwise die with
    UnsupportedClassVersionError buried in the broker log."""
    java = shutil.which("java")
    if java is None:
        raise BrokerError(f"java not found on PATH; {JAVA_HINT}", exit_code=2)
    try:
        out = subprocess.run(
            [java, "-version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise BrokerError(f"cannot run {java} ({exc}); {JAVA_HINT}", exit_code=2) from exc
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out.stderr + out.stdout)
    if match:
        major = int(match.group(1))
        if major == 1 and match.group(2):  # "1.8.0_392" style
            major = int(match.group(2))
        if major < 17:
            raise BrokerError(
                f"{java} is Java {major} but Kafka {KAFKA_VERSION} needs 17+; {JAVA_HINT}",
                exit_code=2,
            )
    return java


def require_mvn() -> str:
    """Maven is only needed for the one-off fetch, so it is checked lazily."""
    mvn = shutil.which("mvn")
    if mvn is None:
        raise BrokerError(f"mvn not found on PATH; {MVN_HINT}", exit_code=2)
    return mvn


def _pom_digest() -> str:
    return hashlib.sha256(POM.read_bytes()).hexdigest()


def _lib_complete(lib: Path) -> bool:
    marker = lib / COMPLETE_MARKER
    try:
        if marker.read_text().strip() != _pom_digest():
            return False
    except OSError:
        return False
    return all((lib / jar).is_file() for jar in REQUIRED_JARS)


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """Serialise fetches: parallel test workers must not copy into the same dir."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def fetch(cache: Path | None = None, *, force: bool = False) -> tuple[Path, bool]:
    """Make sure the broker jars are in ``<cache>/lib``; return ``(lib, fetched_now)``.

    Maven copies into ``lib.partial`` and the directory is renamed only after the
    marker (holding the pom's hash) is written, so an interrupted fetch or an
    edited pom is redone instead of launching a broker from half a classpath.
    """
    root = cache or cache_root()
    lib = root / "lib"
    if not force and _lib_complete(lib):
        return lib, False
    require_java()
    mvn = require_mvn()
    with _file_lock(root / ".fetch.lock"):
        if not force and _lib_complete(lib):  # another process finished it meanwhile
            return lib, False
        partial = root / "lib.partial"
        shutil.rmtree(partial, ignore_errors=True)
        log_path = root / "fetch.log"
        cmd = [
            mvn, "-B", "-q", "-f", str(POM),
            f"{DEPENDENCY_PLUGIN}:copy-dependencies",
            "-Dstyle.color=never",
            "-DincludeScope=runtime",
            f"-DoutputDirectory={partial}",
        ]  # fmt: skip
        with log_path.open("w") as log:
            try:
                proc = subprocess.run(
                    cmd, stdout=log, stderr=subprocess.STDOUT, check=False, timeout=900
                )
            except subprocess.TimeoutExpired as exc:
                raise BrokerError(
                    f"mvn took over 15 min to fetch the Kafka jars; check the network "
                    f"and {log_path}"
                ) from exc
        if proc.returncode != 0:
            raise BrokerError(
                f"mvn could not fetch the Kafka {KAFKA_VERSION} jars (exit {proc.returncode});"
                f" check that Maven Central is reachable (proxy: ~/.m2/settings.xml),"
                f" details in {log_path}",
                details=_tail(log_path, 15),
            )
        missing = [jar for jar in REQUIRED_JARS if not (partial / jar).is_file()]
        if missing:
            raise BrokerError(
                f"mvn finished but {', '.join(missing)} is missing from {partial};"
                f" see {log_path} and retry with `fetch --force`"
            )
        (partial / COMPLETE_MARKER).write_text(_pom_digest() + "\n")
        shutil.rmtree(lib, ignore_errors=True)
        partial.rename(lib)
    return lib, True


# ------------------------------------------------------------------------ network


def free_ports(count: int, host: str = "127.0.0.1") -> list[int]:
    """Pick ``count`` distinct free ports; all sockets stay open until every port is
    chosen, so the kernel cannot hand out the same one twice."""
    socks: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            socks.append(sock)
            sock.bind((host, 0))
        return [int(s.getsockname()[1]) for s in socks]
    finally:
        for sock in socks:
            sock.close()


def free_port(host: str = "127.0.0.1") -> int:
    """One free port (racy by nature: bind it soon)."""
    return free_ports(1, host)[0]


def _port_in_use(host: str, port: int) -> bool:
    """Bind-test with SO_REUSEADDR like the JVM does, so a port left in TIME_WAIT by a
    just-stopped broker is not reported as busy."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


def _kafka_string(value: str | None) -> bytes:
    if value is None:
        return struct.pack(">h", -1)
    raw = value.encode()
    return struct.pack(">h", len(raw)) + raw


class _Reader:
    """Cursor over a response body; short reads become KafkaProtocolError."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def _take(self, size: int) -> bytes:
        if self.pos + size > len(self.data):
            raise KafkaProtocolError(f"Metadata response truncated at byte {self.pos}")
        chunk = self.data[self.pos : self.pos + size]
        self.pos += size
        return chunk

    def int16(self) -> int:
        return int(struct.unpack(">h", self._take(2))[0])

    def int32(self) -> int:
        return int(struct.unpack(">i", self._take(4))[0])

    def nullable_string(self) -> str | None:
        size = self.int16()
        if size < 0:
            return None
        return self._take(size).decode("utf-8", errors="replace")

    def string(self) -> str:
        return self.nullable_string() or ""


def _recv_exact(sock: socket.socket, size: int) -> bytes:
    buf = bytearray()
    while len(buf) < size:
        chunk = sock.recv(size - len(buf))
        if not chunk:
            raise KafkaProtocolError("broker closed the connection mid-response")
        buf += chunk
    return bytes(buf)


def metadata_request(
    host: str, port: int, timeout: float = 2.0, *, client_id: str = "spikewatch-local-broker"
) -> ClusterMetadata:
    """Send one Metadata v4 request and parse the answer.

    Hand-rolled on purpose: a TCP connect succeeds long before the broker can
    serve clients, while a Metadata answer listing brokers means the KRaft
    broker is unfenced and has opened its data plane. And this file must not
    depend on a Kafka client library.
    """
    correlation_id = next(_correlation_ids) & 0x7FFFFFFF
    # Request header v1: api_key, api_version, correlation_id, client_id.
    # Body v4: topics = null (all topics), allow_auto_topic_creation = false.
    payload = (
        struct.pack(">hhi", METADATA_API_KEY, METADATA_VERSION, correlation_id)
        + _kafka_string(client_id)
        + struct.pack(">i?", -1, False)
    )
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(struct.pack(">i", len(payload)) + payload)
        (size,) = struct.unpack(">i", _recv_exact(sock, 4))
        if not 8 <= size <= MAX_RESPONSE_BYTES:
            raise KafkaProtocolError(f"implausible Metadata response size {size}")
        reader = _Reader(_recv_exact(sock, size))
    got = reader.int32()
    if got != correlation_id:
        raise KafkaProtocolError(f"correlation id {got} != {correlation_id}: not a Kafka reply")
    reader.int32()  # throttle_time_ms
    brokers = tuple(
        BrokerNode(
            node_id=reader.int32(),
            host=reader.string(),
            port=reader.int32(),
            rack=reader.nullable_string(),
        )
        for _ in range(max(reader.int32(), 0))
    )
    cluster_id = reader.nullable_string()
    controller_id = reader.int32()
    return ClusterMetadata(correlation_id, cluster_id, controller_id, brokers)


def wait_for_metadata(
    host: str,
    port: int,
    timeout: float = 60.0,
    *,
    cluster_id: str | None = None,
    alive: Callable[[], bool] | None = None,
    interval: float = 0.2,
) -> ClusterMetadata:
    """Poll until the broker answers a Metadata request that lists at least one broker.

    ``cluster_id`` ignores answers from some other broker squatting on the port;
    ``alive`` aborts early (BrokerError) when the process we wait for has died,
    instead of burning the whole timeout. Raises TimeoutError otherwise.
    """
    deadline = time.monotonic() + timeout
    last_problem = "no attempt made"
    while True:
        remaining = deadline - time.monotonic()
        try:
            meta = metadata_request(host, port, timeout=max(0.1, min(2.0, remaining)))
        except OSError as exc:
            last_problem = f"{type(exc).__name__}: {exc}"
        else:
            if not meta.brokers:
                last_problem = "Metadata response lists no live brokers yet"
            elif cluster_id is not None and meta.cluster_id != cluster_id:
                last_problem = f"answer came from another cluster ({meta.cluster_id})"
            else:
                return meta
        if alive is not None and not alive():
            raise BrokerError("kafka exited during startup")
        if time.monotonic() >= deadline:
            raise TimeoutError(
                f"no Kafka Metadata answer from {host}:{port} within {timeout:g} s ({last_problem})"
            )
        time.sleep(min(interval, max(0.0, deadline - time.monotonic())))


# ----------------------------------------------------------------------- processes


def _pid_alive(pid: int) -> bool:
    """True for a running process; zombies count as dead because they will never
    answer again (our own child stays a zombie until reaped)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    except OSError:
        stat = ""
    if stat:
        return stat.rsplit(")", 1)[-1].split()[0] not in {"Z", "X"}
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _is_our_broker(pid: int, data_dir: Path) -> bool:
    """A stale pidfile may name a pid that now belongs to an unrelated process; only
    signal it when its command line is our java + this data dir's properties."""
    if not _pid_alive(pid):
        return False
    try:
        args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except FileNotFoundError:
        return False
    except OSError:
        return True  # no /proc (not Linux): liveness is all we can check
    props = str(data_dir / PROPERTIES_NAME).encode()
    return b"kafka.Kafka" in args and props in args


def running_pid(data_dir: Path) -> int | None:
    """Pid of the broker serving ``data_dir``, or None (stale pidfiles are ignored)."""
    data_dir = Path(data_dir).resolve()
    try:
        pid = int((data_dir / PIDFILE_NAME).read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if _is_our_broker(pid, data_dir) else None


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while _pid_alive(pid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True


def stop_broker(data_dir: Path, timeout: float = 30.0) -> int | None:
    """SIGTERM (controlled shutdown keeps the log clean), SIGKILL after ``timeout``.

    Idempotent: no pidfile or a dead process counts as stopped. Returns the pid
    that was stopped, or None if nothing was running.
    """
    data_dir = Path(data_dir).resolve()
    pidfile = data_dir / PIDFILE_NAME
    pid = running_pid(data_dir)
    if pid is not None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        if not _wait_gone(pid, timeout):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            if not _wait_gone(pid, 10.0):
                raise BrokerError(
                    f"kafka pid {pid} survived SIGKILL; check `ps -p {pid}` and kill it by hand"
                )
    pidfile.unlink(missing_ok=True)
    return pid


def _java_complaint(output: str) -> str:
    """The one line of a JVM tool's output worth showing: the exception message, not
    the stack trace below it."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    for line in lines:
        match = re.search(r"(?:Exception|Error)(?: in thread \S+ \S+)?: (.+)$", line)
        if match and not line.startswith("at "):
            return match.group(1)
    return lines[-1] if lines else "no output"


def _tail(path: Path, lines: int) -> str:
    """Last log lines minus Java stack frames, which would crowd out the message."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    kept = [
        line
        for line in text.rstrip("\n").splitlines()
        if not re.match(r"\s+(at |\.\.\. \d+ more)", line)
    ]
    return "\n".join(kept[-lines:])


# ------------------------------------------------------------------- configuration


def _escape_key(key: str) -> str:
    return re.sub(r"([\\=: #!])", r"\\\1", key)


def _escape_value(value: str) -> str:
    """Java .properties escaping, so JAAS configs and paths survive verbatim."""
    value = value.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r")
    return "\\" + value if value.startswith(" ") else value


def read_properties(path: Path) -> dict[str, str]:
    """Good enough for files this script wrote (one key=value per line)."""
    props: dict[str, str] = {}
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return props
    for line in lines:
        stripped = line.strip()
        if not stripped or stripped.startswith(("#", "!")) or "=" not in stripped:
            continue
        key, _, value = stripped.partition("=")
        props[key.strip()] = value.strip()
    return props


def parse_config_pairs(pairs: Sequence[str]) -> dict[str, str]:
    """``KEY=VALUE`` replaces, ``KEY+=VALUE`` appends with a comma (for listeners)."""
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise BrokerError(f"--config {pair!r} is not KEY=VALUE; e.g. --config num.partitions=8")
        out[key.strip()] = value
    return out


def _heap_bytes(heap: str) -> int:
    match = re.fullmatch(r"(\d+)([kKmMgG]?)", heap)
    if not match:
        raise BrokerError(f"--heap {heap!r} is not a JVM size; use e.g. 512m or 1g")
    scale = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}[match.group(2).lower()]
    return int(match.group(1)) * scale


def new_cluster_id() -> str:
    """Same shape as ``kafka-storage random-uuid``: base64url of 16 random bytes, no
    padding, never starting with '-' (it would be parsed as a CLI flag)."""
    while True:
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cid.startswith("-"):
            return cid


# -------------------------------------------------------------------------- broker

# Brokers launched through the API in this interpreter, keyed by id(). A test run
# that dies between start() and stop() would otherwise leak 350 MB JVMs that
# keep their ports; the CLI opts out because its broker must outlive it.
_launched: "dict[int, LocalBroker]" = {}


@atexit.register
def _stop_leftover_brokers() -> None:
    for broker in list(_launched.values()):
        with contextlib.suppress(Exception):
            broker.stop(timeout=10.0)


@dataclass
class LocalBroker:
    """One broker+controller JVM serving ``data_dir``.

    Re-using a data dir keeps topics and offsets (the dir is formatted only once),
    which is what restart tests rely on; ports may change between runs. ``config``
    overrides server.properties entries, and a key ending in ``+`` appends to a
    comma list, so a caller can add e.g. a SASL_SSL listener without restating
    the PLAINTEXT one (readiness is always probed over PLAINTEXT on ``port``).
    ``stop_at_exit`` stops brokers this interpreter launched when it exits, so a
    crashed test run does not leak JVMs holding ports.
    """

    data_dir: Path
    port: int = 9092
    controller_port: int = 9093
    host: str = "127.0.0.1"
    partitions: int = 4
    heap: str = "1g"
    timeout: float = 60.0
    config: dict[str, str] = field(default_factory=dict)
    scram: list[str] = field(default_factory=list)
    stop_at_exit: bool = True
    pid: int | None = field(default=None, init=False)
    startup_seconds: float | None = field(default=None, init=False)
    cluster_id: str | None = field(default=None, init=False)
    _proc: "subprocess.Popen[bytes] | None" = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.data_dir = Path(self.data_dir).expanduser().resolve()

    @classmethod
    def on_free_ports(cls, data_dir: Path, *, host: str = "127.0.0.1", **kwargs: Any) -> Self:
        """Test-friendly constructor: two distinct free ports, so parallel tests and a
        developer's own broker on 9092 never collide."""
        port, controller_port = free_ports(2, host)
        return cls(data_dir, port, controller_port, host, **kwargs)

    @property
    def bootstrap(self) -> str:
        """The ``bootstrap.servers`` string clients should use."""
        return f"{self.host}:{self.port}"

    @property
    def properties_path(self) -> Path:
        return self.data_dir / PROPERTIES_NAME

    @property
    def pidfile(self) -> Path:
        return self.data_dir / PIDFILE_NAME

    @property
    def log_dir(self) -> Path:
        return self.data_dir / "logs"

    @property
    def console_log(self) -> Path:
        """WARN+ and JVM crashes; the first place to look when startup fails."""
        return self.log_dir / "broker.out"

    @property
    def server_log(self) -> Path:
        return self.log_dir / "server.log"

    def server_properties(self) -> dict[str, str]:
        """Single-node settings: every replication factor 1, or internal topics
        (consumer offsets, transactions) could never be created."""
        h, p, c = self.host, self.port, self.controller_port
        props = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.bootstrap.servers": f"{h}:{c}",
            "listeners": f"PLAINTEXT://{h}:{p},CONTROLLER://{h}:{c}",
            "advertised.listeners": f"PLAINTEXT://{h}:{p},CONTROLLER://{h}:{c}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": (
                "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SSL:SSL,"
                "SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL"
            ),
            "log.dirs": str(self.data_dir / "data"),
            "num.partitions": str(self.partitions),
            "auto.create.topics.enable": "true",
            "default.replication.factor": "1",
            "min.insync.replicas": "1",
            "offsets.topic.replication.factor": "1",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            "group.initial.rebalance.delay.ms": "0",
            "num.network.threads": "2",
            "num.io.threads": "2",
        }
        for key, value in self.config.items():
            if key.endswith("+"):
                base = key[:-1].strip()
                props[base] = f"{props[base]},{value}" if props.get(base) else value
            else:
                props[key] = value
        if "controller.quorum.voters" in props:  # static quorum: the two are exclusive
            props.pop("controller.quorum.bootstrap.servers", None)
        return props

    def _write_properties(self, props: dict[str, str]) -> None:
        lines = [PROPERTIES_HEADER]
        lines += [f"{_escape_key(k)}={_escape_value(v)}" for k, v in props.items()]
        tmp = self.properties_path.with_suffix(".tmp")
        tmp.write_text("\n".join(lines) + "\n")
        tmp.replace(self.properties_path)

    def _jvm_logging_args(self) -> list[str]:
        return [
            f"-Dlog4j2.configurationFile={LOG4J2_CONFIG}",
            f"-Dkafka.logs.dir={self.log_dir}",
        ]

    def _ensure_formatted(self, java: str, lib: Path, props: dict[str, str]) -> str:
        """Format once; a restart must find its old metadata log and topics."""
        log_dirs = props.get("log.dirs") or props.get("log.dir", "")
        dirs = [Path(d.strip()) for d in log_dirs.split(",") if d.strip()]
        if props.get("metadata.log.dir"):
            dirs.append(Path(props["metadata.log.dir"]))
        known = [read_properties(d / "meta.properties").get("cluster.id") for d in dirs]
        existing = [cid for cid in known if cid]
        if len(existing) == len(dirs):
            return existing[0]
        cluster_id = existing[0] if existing else new_cluster_id()
        cmd = [
            java, *self._jvm_logging_args(), "-cp", f"{lib}/*",
            "kafka.tools.StorageTool", "format",
            "-t", cluster_id, "-c", str(self.properties_path),
        ]  # fmt: skip
        if "controller.quorum.voters" not in props:
            cmd.append("--standalone")
        if existing:  # a log dir was added later: format just the new one
            cmd.append("--ignore-formatted")
        for spec in self.scram:
            cmd += ["--add-scram", spec]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
        if proc.returncode != 0:
            raise BrokerError(
                f"formatting {self.data_dir} failed: {_java_complaint(proc.stdout + proc.stderr)};"
                " fix the --config values, or `wipe` the dir if it is from another setup"
            )
        return cluster_id

    def is_running(self) -> bool:
        return running_pid(self.data_dir) is not None

    def _alive(self) -> bool:
        if self._proc is not None:
            return self._proc.poll() is None
        return self.pid is not None and _pid_alive(self.pid)

    def start(self) -> Self:
        """Launch detached and return only once a Metadata request is answered.

        On any failure (including Ctrl-C) the JVM is stopped again, so a failed
        start never leaves a stray broker holding the ports.
        """
        began = time.monotonic()
        java = require_java()
        heap = _heap_bytes(self.heap)
        if self.port == self.controller_port:
            raise BrokerError(f"--port and --controller-port are both {self.port}; pick two")
        lib, _ = fetch()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(exist_ok=True)

        existing = running_pid(self.data_dir)
        if existing is not None:
            self.pid = existing
            try:
                meta = wait_for_metadata(self.host, self.port, min(self.timeout, 10.0))
            except TimeoutError as exc:
                raise BrokerError(
                    f"a broker for {self.data_dir} already runs (pid {existing}) but does not"
                    f" answer on {self.bootstrap}; run `stop --data-dir {self.data_dir}` first"
                ) from exc
            self.cluster_id = meta.cluster_id
            self.startup_seconds = time.monotonic() - began
            return self

        for flag, port in (("--port", self.port), ("--controller-port", self.controller_port)):
            if _port_in_use(self.host, port):
                raise BrokerError(
                    f"{self.host}:{port} is already in use; stop whatever listens there"
                    f" or pick another {flag}"
                )
        props = self.server_properties()
        self._write_properties(props)
        self.cluster_id = self._ensure_formatted(java, lib, props)

        cmd = [
            java,
            f"-Xmx{self.heap}",
            f"-Xms{min(heap, 256 << 20)}",  # commit little up front: tests run several
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
            "-XX:+ExitOnOutOfMemoryError",
            "-Djava.awt.headless=true",
            *self._jvm_logging_args(),
            "-cp",
            f"{lib}/*",
            "kafka.Kafka",
            str(self.properties_path),
        ]
        with self.console_log.open("wb") as out:
            self._proc = subprocess.Popen(
                cmd,
                cwd=self.data_dir,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # survives the CLI exiting and its Ctrl-C
            )
        self.pid = self._proc.pid
        self.pidfile.write_text(f"{self.pid}\n")
        if self.stop_at_exit:
            _launched[id(self)] = self
        try:
            wait_for_metadata(
                self.host,
                self.port,
                self.timeout,
                cluster_id=self.cluster_id,
                alive=self._alive,
            )
        except (BrokerError, TimeoutError) as exc:
            code = self._proc.poll()
            if code is not None:  # it died: its ERROR lines are on the console log
                why = f"kafka exited with code {code} during startup"
                log = self.console_log if _tail(self.console_log, 1) else self.server_log
            else:  # still starting: what it was busy with is in server.log
                why = f"kafka did not answer on {self.bootstrap} within {self.timeout:g} s"
                log = self.server_log
            details = _tail(log, 12)
            self.stop(timeout=10.0)
            raise BrokerError(
                f"{why}; full log in {self.server_log} (last lines of {log.name} below)",
                details=details,
            ) from exc
        except BaseException:
            self.stop(timeout=10.0)
            raise
        self.startup_seconds = time.monotonic() - began
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """Idempotent; also reaps our own child so no zombie is left behind."""
        _launched.pop(id(self), None)
        stop_broker(self.data_dir, timeout)
        if self._proc is not None:
            try:
                self._proc.wait(timeout=10.0)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            self._proc = None
        self.pid = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


# ----------------------------------------------------------------------------- CLI


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
    props = data_dir / PROPERTIES_NAME
    ours = props.is_file() and props.read_text().startswith(PROPERTIES_HEADER)
    if not ours and any(data_dir.iterdir()):
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


if __name__ == "__main__":
    sys.exit(main())

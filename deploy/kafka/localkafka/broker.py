"""``LocalBroker``: one broker+controller JVM per data dir, started and stopped from Python."""

from __future__ import annotations

import atexit
import contextlib
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from localkafka.errors import BrokerError
from localkafka.jvm import heap_bytes, log_tail, logging_args, require_java
from localkafka.maven import fetch
from localkafka.ports import free_ports, port_in_use
from localkafka.process import PIDFILE_NAME, pid_alive, running_pid, stop_broker
from localkafka.properties import PROPERTIES_NAME, single_node_properties, write_properties
from localkafka.protocol import wait_for_metadata
from localkafka.storage import ensure_formatted

# Brokers launched through the API in this interpreter, keyed by id(). A test run
# that dies between start() and stop() would otherwise leak JVMs that keep their
# ports; the CLI opts out because its broker must outlive it.
_launched: dict[int, LocalBroker] = {}


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
    _proc: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)

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
        return single_node_properties(
            host=self.host,
            port=self.port,
            controller_port=self.controller_port,
            data_dir=self.data_dir,
            partitions=self.partitions,
            overrides=self.config,
        )

    def is_running(self) -> bool:
        return running_pid(self.data_dir) is not None

    def _alive(self) -> bool:
        if self._proc is not None:
            return self._proc.poll() is None
        return self.pid is not None and pid_alive(self.pid)

    def start(self) -> Self:
        """Launch detached and return only once a Metadata request is answered.

        On any failure (including Ctrl-C) the JVM is stopped again, so a failed
        start never leaves a stray broker holding the ports.
        """
        began = time.monotonic()
        java = require_java()
        heap = heap_bytes(self.heap)
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
            if port_in_use(self.host, port):
                raise BrokerError(
                    f"{self.host}:{port} is already in use; stop whatever listens there"
                    f" or pick another {flag}"
                )
        props = self.server_properties()
        write_properties(self.properties_path, props)
        self.cluster_id = ensure_formatted(
            java,
            lib,
            props,
            properties_path=self.properties_path,
            log_dir=self.log_dir,
            scram=self.scram,
        )

        cmd = [
            java,
            f"-Xmx{self.heap}",
            f"-Xms{min(heap, 256 << 20)}",  # commit little up front: tests run several
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
            "-XX:+ExitOnOutOfMemoryError",
            "-Djava.awt.headless=true",
            *logging_args(self.log_dir),
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
                log = self.console_log if log_tail(self.console_log, 1) else self.server_log
            else:  # still starting: what it was busy with is in server.log
                why = f"kafka did not answer on {self.bootstrap} within {self.timeout:g} s"
                log = self.server_log
            details = log_tail(log, 12)
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

"""The broker's jars: resolved from Maven Central once, into a cache shared by every data dir."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

from localkafka.errors import BrokerError
from localkafka.jvm import log_tail, require_java
from localkafka.version import KAFKA_VERSION

DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.6.1"
POM = Path(__file__).resolve().parent / "pom.xml"
MVN_HINT = "install Maven 3.8+ (e.g. apt-get install maven) and retry"

# Jars whose absence means the copy is unusable even if mvn said it succeeded.
REQUIRED_JARS = (
    f"kafka_2.13-{KAFKA_VERSION}.jar",
    f"kafka-clients-{KAFKA_VERSION}.jar",
    "log4j-core-2.24.3.jar",
    "log4j-slf4j-impl-2.24.3.jar",
)
COMPLETE_MARKER = ".spikewatch-fetch-complete"


def cache_root() -> Path:
    """Where the jars live; shared by all data dirs so the slow fetch happens once."""
    base = os.environ.get("SPIKEWATCH_CACHE_DIR") or str(Path.home() / ".cache" / "spikewatch")
    return Path(base).expanduser() / f"kafka-{KAFKA_VERSION}"


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
                details=log_tail(log_path, 15),
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

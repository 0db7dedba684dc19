"""The Java side of the broker: the runtime it needs, its options and its logs."""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
from pathlib import Path

from localkafka.errors import BrokerError
from localkafka.version import KAFKA_VERSION

LOG4J2_CONFIG = Path(__file__).resolve().parent / "log4j2.properties"
JAVA_HINT = "install a Java 17+ JDK (e.g. apt-get install openjdk-17-jre-headless) and retry"


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


def heap_bytes(heap: str) -> int:
    """``-Xmx`` syntax, checked here so a typo fails before the JVM starts."""
    match = re.fullmatch(r"(\d+)([kKmMgG]?)", heap)
    if not match:
        raise BrokerError(f"--heap {heap!r} is not a JVM size; use e.g. 512m or 1g")
    scale = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}[match.group(2).lower()]
    return int(match.group(1)) * scale


def logging_args(log_dir: Path) -> list[str]:
    """Without a log4j2 configuration the broker logs nothing useful."""
    return [
        f"-Dlog4j2.configurationFile={LOG4J2_CONFIG}",
        f"-Dkafka.logs.dir={log_dir}",
    ]


def java_complaint(output: str) -> str:
    """The one line of a JVM tool's output worth showing: the exception message, not
    the stack trace below it."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    for line in lines:
        match = re.search(r"(?:Exception|Error)(?: in thread \S+ \S+)?: (.+)$", line)
        if match and not line.startswith("at "):
            return match.group(1)
    return lines[-1] if lines else "no output"


def log_tail(path: Path, lines: int) -> str:
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

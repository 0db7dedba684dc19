"""Where the tests find the checkout and the local broker's command line.

The broker itself is the ``localkafka`` package (``deploy/kafka/localkafka``),
imported like any other.
"""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
LOCAL_BROKER_SCRIPT = REPO_ROOT / "deploy" / "kafka" / "local_broker.py"


def processes_mentioning(text: str) -> list[int]:
    """Live pids whose command line contains ``text``: proves nothing was left
    behind, even a JVM the pidfile no longer knows about."""
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            cmdline = (proc / "cmdline").read_bytes()
            state = (proc / "stat").read_text().rsplit(")", 1)[-1].split()[0]
        except OSError:
            continue
        if text.encode() in cmdline and state != "Z":
            found.append(int(proc.name))
    return found

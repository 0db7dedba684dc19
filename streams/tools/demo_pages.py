"""The demo's pages: a real Alertmanager and ``spikewatch notify`` delivering to it.

So a person running ``./dev demo`` sees the page where on-call would: in
Alertmanager's UI, grouped by broadcast, resolved when the incident resolves.
Alertmanager is Debian's ``prometheus-alertmanager`` (``./dev setup`` installs
it) with the shipped ``deploy/alertmanager/alertmanager.yml``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
ALERTMANAGER_CONFIG = REPO_ROOT / "deploy" / "alertmanager" / "alertmanager.yml"


class PagesUnavailableError(RuntimeError):
    """Alertmanager or notify could not start; the message says what to do."""


@dataclass
class DemoPages:
    alertmanager: subprocess.Popen[bytes]
    notify: subprocess.Popen[bytes]
    ui_url: str

    def stop(self) -> None:
        for process in (self.notify, self.alertmanager):
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def start_pages(
    run_dir: Path, bootstrap: str, policy_file: Path, alertmanager_port: int, notify_port: int
) -> DemoPages:
    binary = shutil.which("prometheus-alertmanager") or shutil.which(
        "prometheus-alertmanager", path="/usr/bin:/usr/sbin"
    )
    if binary is None:
        raise PagesUnavailableError(
            "prometheus-alertmanager not found; run ./dev setup (it installs it) and retry"
        )
    ui_url = f"http://127.0.0.1:{alertmanager_port}"
    storage = run_dir / "alertmanager"
    shutil.rmtree(storage, ignore_errors=True)
    alertmanager = subprocess.Popen(
        [
            binary,
            f"--config.file={ALERTMANAGER_CONFIG}",
            f"--storage.path={storage}",
            f"--web.listen-address=127.0.0.1:{alertmanager_port}",
            "--cluster.listen-address=",
        ],
        stdout=(run_dir / "alertmanager.log").open("wb"),
        stderr=subprocess.STDOUT,
    )
    _wait_ready(f"{ui_url}/-/ready", "Alertmanager", alertmanager, run_dir / "alertmanager.log")
    sinks = run_dir / "sinks.yaml"
    sinks.write_text(
        yaml.safe_dump(
            {
                "version": 1,
                "sinks": [
                    {
                        "name": "alertmanager",
                        "type": "alertmanager",
                        "url": ui_url,
                        "repost_interval_seconds": 60,
                    }
                ],
            }
        )
    )
    notify = subprocess.Popen(
        [sys.executable, "-m", "streams.cli", "notify"],
        env={
            **os.environ,
            "SPIKEWATCH_KAFKA_BOOTSTRAP": bootstrap,
            "SPIKEWATCH_NOTIFY_SINKS_FILE": str(sinks),
            "SPIKEWATCH_NOTIFY_WEB_PORT": str(notify_port),
            "SPIKEWATCH_POLICY_FILE": str(policy_file),
        },
        stdout=(run_dir / "notify.log").open("wb"),
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_ready(
            f"http://127.0.0.1:{notify_port}/healthz", "notify", notify, run_dir / "notify.log"
        )
    except PagesUnavailableError:
        alertmanager.terminate()
        raise
    return DemoPages(alertmanager, notify, ui_url)


def _wait_ready(url: str, name: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise PagesUnavailableError(f"{name} exited; see {log}")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 (loopback)
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise PagesUnavailableError(f"{url} not ready in 60 s; see {log}")

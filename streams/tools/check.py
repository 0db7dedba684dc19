"""``spikewatch check``: what the services would load at start, checked before a deployment.

A worker or notify that cannot use its files stops at start with one line, which on a
rolling deployment is a crash loop found after the fact; and some mistakes stop nothing
at all: a sinks file that serves no sink for a team the policy pages sends those pages
to a Kafka topic nobody reads, and a policy whose figures changed under the same
``policy_version`` makes its pages indistinguishable from the old policy's. This checks
both kinds, offline (no broker), in the environment it is run in: run it with the
deployment's ``SPIKEWATCH_*`` variables and secrets, as a pipeline step or in the pod.

Every check prints one line, ``ok``, ``skipped`` (a file the settings do not name),
``note`` (a choice that is valid but seldom meant, with what to do if it was not) or
``problem`` with what to do; the exit status is 1 when any problem was found.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TypeVar

from alerting.paging import paging_severities
from alerting.policy import Policy, load_policy
from alerting.policy_changes import policy_changes
from models.errors import SpikewatchError
from oncall.delivery.config import NotifyConfig, load_sinks
from oncall.delivery.coverage import pagers_below_paging, unknown_teams, unserved_pages
from streams.settings import Settings, load_settings
from streams.worker.watchlist_file import policy_watchlist

Loaded = TypeVar("Loaded")


@dataclass
class CheckReport:
    """The lines of one check run, and whether any was a problem."""

    out: IO[str]
    problems: int = 0

    def ok(self, what: str) -> None:
        print(f"ok       {what}", file=self.out)

    def skipped(self, what: str) -> None:
        print(f"skipped  {what}", file=self.out)

    def note(self, what: str) -> None:
        print(f"note     {what}", file=self.out)

    def problem(self, what: str) -> None:
        self.problems += 1
        print(f"problem  {what}", file=self.out)

    def attempt(self, load: Callable[[], Loaded]) -> Loaded | None:
        """The loaded value, or None after a problem line with the error's own line."""
        try:
            return load()
        except SpikewatchError as error:
            self.problem(error.line())
            return None


def run_check(policy_file: Path | None, against: Path | None, out: IO[str] | None = None) -> int:
    """Check everything; 0 when nothing is a problem, else 1."""
    report = CheckReport(sys.stdout if out is None else out)
    settings = report.attempt(load_settings)
    if settings is None:
        return 1
    report.ok("settings: every SPIKEWATCH_* variable set is valid")
    policy = _check_policy(report, "policy", policy_file or settings.policy_file)
    if settings.shadow_policy_file is None:
        report.skipped("shadow policy: SPIKEWATCH_SHADOW_POLICY_FILE is not set")
    else:
        shadow = _check_policy(report, "shadow policy", settings.shadow_policy_file)
        if shadow is not None and policy is not None:
            _check_shadow_version(report, policy, shadow)
    if policy is None:
        report.skipped("sinks and --against: they are checked against the policy")
        return 1
    _check_sinks(report, settings, policy)
    if against is not None:
        _check_against(report, policy, against)
    return 1 if report.problems else 0


def _check_policy(report: CheckReport, what: str, path: Path) -> Policy | None:
    policy = report.attempt(lambda: load_policy(path))
    if policy is None:
        return None
    paged = paging_severities(policy)
    report.ok(
        f"{what} {path}: version {policy.policy_version}; {len(policy.teams)} teams, "
        f"{len(paged)} of them paged ({', '.join(paged)})"
    )
    watchlist = report.attempt(lambda: policy_watchlist(policy))
    if watchlist is not None:
        report.ok(f"{what}'s watchlist: {len(watchlist)} high-profile broadcasters")
    return policy


def _check_shadow_version(report: CheckReport, policy: Policy, shadow: Policy) -> None:
    if shadow.policy_version == policy.policy_version:
        report.problem(
            f"the shadow policy has the active policy's version ({policy.policy_version}): "
            "give the candidate its own policy_version, or its escalations cannot be told "
            "from the active policy's when they are scored"
        )


def _check_sinks(report: CheckReport, settings: Settings, policy: Policy) -> None:
    path = settings.notify_sinks_file
    if path is None:
        report.skipped("sinks: SPIKEWATCH_NOTIFY_SINKS_FILE is not set (spikewatch notify)")
        return
    config: NotifyConfig | None = report.attempt(lambda: load_sinks(path))
    if config is None:
        return
    report.ok(f"sinks file {path}: {len(config.sinks)} sinks, their secrets all resolved")
    unserved = unserved_pages(config, paging_severities(policy))
    unknown = unknown_teams(config, policy.teams)
    for gap in unserved:
        report.problem(f"sinks file {path}: {gap.line()}")
    for named in unknown:
        report.problem(f"sinks file {path}: {named.line()}")
    if not unserved and not unknown:
        report.ok(f"sinks file {path}: every page the policy can send reaches a sink")
    for pager in pagers_below_paging(config):
        report.note(f"sinks file {path}: {pager.line()}")


def _check_against(report: CheckReport, policy: Policy, against: Path) -> None:
    before = report.attempt(lambda: load_policy(against))
    if before is None:
        return
    changes = policy_changes(before, policy)
    versions = f"{before.policy_version} -> {policy.policy_version}"
    if not changes:
        report.ok(f"against {against}: no figure changed ({versions})")
        return
    changed = f"{len(changes)} {'figure' if len(changes) == 1 else 'figures'} changed"
    if before.policy_version == policy.policy_version:
        report.problem(
            f"against {against}: {changed} under the same policy_version "
            f"({policy.policy_version}): give the new policy its own version"
        )
    else:
        report.ok(f"against {against}: {changed} ({versions})")
    for change in changes:
        print(f"         {change.line()}", file=report.out)

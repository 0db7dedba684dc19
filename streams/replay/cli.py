"""``spikewatch replay`` and ``spikewatch calibrate``: their command lines."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from alerting.policy import Policy, load_policy
from alerting.policy_overrides import with_overrides
from models.decode import Rejection
from models.report import Category
from streams.commands import Subcommands
from streams.settings import load_settings

if TYPE_CHECKING:
    from alerting.calibration import Calibration, CredibleReports
    from streams.worker.pipeline import InputMessage


def add_replay(commands: Subcommands) -> None:
    replay = commands.add_parser(
        "replay",
        help="run a report log through the worker's code; escalations as JSON lines on stdout",
    )
    replay.add_argument("log", nargs="?", help="JSON-lines report log ('-' = stdin)")
    replay.add_argument("--topic", help="replay this Kafka topic instead of a file")
    replay.add_argument("--from-offset", type=int, default=None)
    replay.add_argument("--to-offset", type=int, default=None, help="exclusive")
    replay.add_argument("--from-time", default=None, help="RFC 3339; Kafka message timestamps")
    replay.add_argument("--to-time", default=None, help="RFC 3339, exclusive")
    replay.add_argument("--policy", default=None, help="policy file (default: the worker's)")
    replay.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="change one figure of the policy for this run, e.g. ramp.threshold=11 "
        "(repeatable; the policy's version names the changes)",
    )
    replay.add_argument(
        "--fixed-threshold", type=int, default=5, help="reports in 5 min of the comparison rule"
    )
    replay.add_argument("--card", default=None, help="also write the scored figures (JSON) here")
    replay.add_argument(
        "--escalations",
        default=None,
        help="score these escalations (v1 or v2 JSON lines, e.g. a worker's output) against "
        "the log's labels instead of deciding",
    )
    replay.add_argument(
        "--scenario",
        default=None,
        help="instead of a log: replay scenario NAME (or a,b,c or 'all') for every seed of "
        "--seeds and print the pooled scorecard beside the fixed-threshold rule",
    )
    replay.add_argument("--seeds", default="1-20", help="with --scenario, e.g. 1-20 or 1,5,9-12")
    replay.add_argument(
        "--markdown", default=None, help="with --scenario: write the figures tables here ('-')"
    )
    replay.add_argument(
        "--jobs", type=int, default=1, help="with --scenario: processes to replay seeds in"
    )
    replay.add_argument(
        "--verdicts",
        default=None,
        metavar="TOPIC|FILE",
        help="score against people's verdicts (Verdict v1): a JSON-lines file or a topic",
    )
    replay.add_argument(
        "--verdict-window",
        type=float,
        default=900.0,
        help="seconds between a live incident's start and a replayed page that still match",
    )
    replay.add_argument(
        "--explain",
        action="store_true",
        help="after the scorecard, a line for each false page and each missed incident: "
        "what paged, or what the broadcast got instead (with --scenario, per seed)",
    )
    replay.add_argument(
        "--against",
        default=None,
        metavar="CARD",
        help="after the scorecard, what moved since the run that wrote CARD (--card) on the "
        "same traffic: e.g. the deployed policy's, before trying --set",
    )
    replay.add_argument("--no-progress", action="store_true")
    replay.set_defaults(run=_run_replay)


def add_calibrate(commands: Subcommands) -> None:
    calibrate = commands.add_parser(
        "calibrate", help="learn the categories' base rates from a report log; write a policy"
    )
    calibrate.add_argument("log", nargs="?", help="JSON-lines report log ('-' = stdin)")
    calibrate.add_argument("--topic", help="read this Kafka topic instead (from its start)")
    calibrate.add_argument(
        "--from-time", default=None, help="with --topic: RFC 3339; Kafka record timestamps"
    )
    calibrate.add_argument("--to-time", default=None, help="with --topic: RFC 3339, exclusive")
    calibrate.add_argument(
        "--policy", default=None, help="policy to start from (default: the worker's)"
    )
    calibrate.add_argument("--output", default="-", help="policy file to write ('-' = stdout)")
    calibrate.set_defaults(run=_run_calibrate)


def _run_replay(args: argparse.Namespace) -> int:
    from streams.replay.command import ReplayOptions, run_replay

    settings = load_settings()
    policy = with_overrides(load_policy(args.policy or settings.policy_file), args.set)
    return run_replay(
        settings,
        policy,
        ReplayOptions(
            log=args.log,
            topic=args.topic,
            from_offset=args.from_offset,
            to_offset=args.to_offset,
            from_time=args.from_time,
            to_time=args.to_time,
            fixed_threshold=args.fixed_threshold,
            card=args.card,
            progress=not args.no_progress and sys.stderr.isatty(),
            escalations=args.escalations,
            scenario=args.scenario,
            seeds=args.seeds,
            markdown=args.markdown,
            jobs=args.jobs,
            verdicts=args.verdicts,
            verdict_window=args.verdict_window,
            explain=args.explain,
            against=args.against,
        ),
    )


def _run_calibrate(args: argparse.Namespace) -> int:
    """Read the log as replay does, learn as the worker does, write the policy with its rates,
    and tell on stderr what the rates were learned from and how far each moved: an operator
    pinning priors reviews them, and a message that is not a report is counted, not lost.
    Messages are decided as they are read, never held: a topic may hold days of them."""
    import yaml

    from alerting.calibration import Calibrator, CredibleTally, with_calibration
    from models.decode import decode_report
    from streams.replay.command import each_message
    from streams.replay.output_files import prepare_output, write_output

    settings = load_settings()
    policy_file = args.policy or settings.policy_file
    policy = load_policy(policy_file)
    calibrator, credible = Calibrator(policy), CredibleTally(policy)
    broadcasts: set[str] = set()
    reports = skipped = 0
    prepare_output(args.output, "policy")

    def learn(message: InputMessage) -> None:
        nonlocal reports, skipped
        report = decode_report(message.value, settings.max_message_bytes)
        if isinstance(report, Rejection):
            skipped += 1
            return
        reports += 1
        broadcasts.add(report.broadcast_id)
        record_time = None if message.timestamp_ms is None else message.timestamp_ms / 1000
        calibrator.observe(report, message.partition, record_time)
        credible.add(report)

    each_message(settings, args.log, args.topic, (args.from_time, args.to_time), learn)
    calibration = calibrator.result()
    with open(policy_file, encoding="utf-8") as source:
        document = with_calibration(yaml.safe_load(source), calibration)
    text = yaml.safe_dump(document, sort_keys=False, allow_unicode=True)
    if args.output == "-":
        sys.stdout.write(text)
    else:
        write_output(args.output, text.encode(), "policy")
    learned = f"calibrated from {reports:,} reports on {len(broadcasts):,} broadcasts"
    if skipped:
        learned += (
            "; 1 message was not a valid report and was skipped"
            if skipped == 1
            else f"; {skipped:,} messages were not valid reports and were skipped"
        )
    where = "stdout" if args.output == "-" else args.output
    summary = [learned, f"wrote {where} (policy_version {document['policy_version']})"]
    changes = calibration_changes(policy, calibration)
    credibility = credibility_lines(policy, credible.result())
    sys.stderr.write("".join(f"{line}\n" for line in summary + changes + credibility))
    return 0


def calibration_changes(policy: Policy, calibration: Calibration) -> list[str]:
    """One line per category: its prior, its calibrated rate, and the ratio between them;
    then the weight dispersion's prior and calibrated value."""
    lines = [f"{'category':<18} {'prior':>9} {'calibrated':>11} {'x prior':>8}"]
    for category in Category:
        prior = policy.category(category).base_rate_per_viewer_second
        rate = calibration.rates[category]
        lines.append(f"{category.value:<18} {prior:>9.3g} {rate:>11.3g} {rate / prior:>8.2f}")
    prior_dispersion, dispersion = policy.learning.weight_dispersion, calibration.weight_dispersion
    lines.append(
        f"{'weight dispersion':<18} {prior_dispersion:>9.3g} {dispersion:>11.3g} "
        f"{dispersion / prior_dispersion:>8.2f}"
    )
    return lines


def credibility_lines(policy: Policy, credible: CredibleReports) -> list[str]:
    """How many of the log's reports would page alone if filed in the gravest categories,
    and a warning, one line that says what to do, when the platform's trust scale makes
    that too many of them."""
    from alerting.calibration import CREDIBLE_SHARE_WARNING

    categories = "/".join(sorted(c.value for c in policy.credible_report.categories))
    min_trust = policy.credible_report.min_trust
    line = (
        f"credible on trust alone (>= {min_trust:g}): {credible.credible:,} of "
        f"{credible.scored:,} scored reports ({credible.share:.1%})"
    )
    if credible.trust_quantiles is not None:
        median, high = credible.trust_quantiles
        line += f", trust median {median:.2f}, 90th percentile {high:.2f}"
    paged = credible.broadcasts_paged
    line += (
        f"; those filed as {categories} paged alone on "
        f"{paged:,} broadcast{'' if paged == 1 else 's'} of this log"
    )
    if not credible.too_many:
        return [line]
    warning = (
        f"warning: over {CREDIBLE_SHARE_WARNING:.0%} of reports come from reporters credible "
        f"on trust alone, whose every {categories} report pages; this platform scores "
        "ordinary accounts above the policy's trust scale: raise credible_report.min_trust "
        "above the 90th percentile before deploying this policy"
    )
    return [line, warning]

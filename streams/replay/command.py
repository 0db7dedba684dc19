"""The ``spikewatch replay`` command: sources, output and the printed figures.

Standard output carries only Escalation v2 JSON lines, so it pipes cleanly into
``jq`` or a file; the progress bar, the summary and the scored figures go to
standard error. ``--scenario`` replays named scenarios over many seeds and
prints (or writes as markdown) only the pooled figures; ``--escalations``
scores escalations decided elsewhere (v1 or v2) against a log's labels.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
from pydantic import ValidationError

from alerting.policy import Policy
from alerting.views import PolicyFigures
from streams.kafka.security import client_options
from streams.logs import configure_logging
from streams.replay.comparison import Scored, comparison_lines, load_card, scored_of_card
from streams.replay.explain import explain
from streams.replay.figures import (
    figures_markdown,
    parse_seeds,
    print_progress,
    scenario_figures,
    scenario_names,
)
from streams.replay.fixed_rule import fixed_threshold_triggers
from streams.replay.output_files import prepare_output, write_output
from streams.replay.scoring import score, triggers_of_wire
from streams.replay.session import (
    Progress,
    Replay,
    ReplaySourceError,
    TopicRange,
    file_messages,
    label_of,
    report_card,
    topic_messages,
    write_escalations,
)
from streams.replay.terminal import card_lines, explained_lines, print_lines, summary_lines
from streams.replay.verdicts import DEFAULT_WINDOW_SECONDS, load_verdicts, score_verdicts
from streams.settings import Settings
from streams.worker.pipeline import InputMessage


@dataclass(frozen=True, slots=True)
class ReplayOptions:
    log: str | None
    topic: str | None
    from_offset: int | None
    to_offset: int | None
    from_time: str | None
    to_time: str | None
    fixed_threshold: int
    card: str | None
    progress: bool
    escalations: str | None = None
    scenario: str | None = None
    seeds: str = "1-20"
    markdown: str | None = None
    jobs: int = 1
    verdicts: str | None = None
    verdict_window: float = DEFAULT_WINDOW_SECONDS
    explain: bool = False
    against: str | None = None


def run_replay(settings: Settings, policy: Policy, options: ReplayOptions) -> int:
    configure_logging("error")
    earlier = None if options.against is None else load_card(options.against)
    prepare_output(options.card, "card")
    prepare_output(options.markdown, "figures")
    if options.scenario is not None:
        if options.log is not None or options.topic is not None:
            raise ReplaySourceError("give a log file, --topic or --scenario, only one of them")
        return _score_scenarios(settings, policy, options, earlier)
    if (options.log is None) == (options.topic is None):
        raise ReplaySourceError("give either a log file or --topic, not both and not neither")
    if options.escalations is not None:
        if options.log is None:
            raise ReplaySourceError("--escalations scores a log file's labels: give the log file")
        return _score_escalations(policy, options, options.log, options.escalations, earlier)
    judgements = (
        None
        if options.verdicts is None
        else load_verdicts(options.verdicts, settings.kafka_bootstrap, **client_options(settings))
    )  # before the replay: a bad label file should not cost a replay's time
    replay = Replay(
        policy,
        partitions=settings.topic_partitions,
        max_message_bytes=settings.max_message_bytes,
    )
    started = time.monotonic()
    stdout = sys.stdout.buffer
    if options.topic is not None:
        span = TopicRange(
            options.topic,
            options.from_offset,
            options.to_offset,
            _millis(options.from_time),
            _millis(options.to_time),
        )
        progress = Progress(None, sys.stderr, enabled=options.progress)
        asyncio.run(_replay_topic(replay, settings, span, progress))
    else:
        lines = _read_lines(options.log or "-")
        progress = Progress(len(lines), sys.stderr, enabled=options.progress)
        _replay_messages(
            replay, file_messages(lines, settings.topic_partitions, "replay"), progress
        )
    write_escalations(replay.drain(), stdout)
    stdout.flush()
    result = replay.result
    progress.update(result.messages, len(result.escalations), final=True)
    print_lines(summary_lines(result, time.monotonic() - started))
    card: dict[str, Any] = {}
    if result.labels:
        card = report_card(result, policy, options.fixed_threshold)
        print_lines(card_lines(card))
        if options.explain:
            found = explain(result.labels, result.triggers, result.escalations)
            print_lines(explained_lines([finding.line for finding in found]))
    if judgements is not None:
        verdicts, unreadable = judgements
        judged = score_verdicts(verdicts, result.escalations, options.verdict_window)
        skipped = [f"{unreadable} unreadable verdicts on the topic skipped"] if unreadable else []
        print_lines([judged.line(), *skipped])
        card["verdicts"] = judged.as_dict()
    _compare(earlier, scored_of_card(card) if result.labels else None, options)
    if options.card and card:
        write_output(options.card, orjson.dumps(card, option=orjson.OPT_INDENT_2), "card")
    return 0


def _compare(
    earlier: dict[str, Scored] | None, scored: dict[str, Scored] | None, options: ReplayOptions
) -> None:
    """``--against``: what moved since the earlier run's card. ``scored`` is None for a log
    without labels, which has nothing to compare: said rather than passed over."""
    if earlier is None:
        return
    if scored is None:
        print_lines([f"against {options.against}: this log carries no labels to compare"])
        return
    print_lines(comparison_lines(earlier, scored, str(options.against)))


def _score_escalations(
    policy: Policy,
    options: ReplayOptions,
    log: str,
    escalations: str,
    earlier: dict[str, Scored] | None,
) -> int:
    """Score escalations decided elsewhere against the labels of the log they came from."""
    lines = _read_lines(log)
    figures = PolicyFigures(policy)
    labels = [
        label
        for message in file_messages(lines, 1, "replay")
        if (label := label_of(message.value, figures, message.timestamp_ms)) is not None
    ]
    if not labels:
        raise ReplaySourceError(f"report log {log} carries no labels to score against")
    try:
        triggers = triggers_of_wire(_read_lines(escalations, "escalations file"))
    except ValidationError as error:
        raise ReplaySourceError(
            f"{escalations} holds a line that is no Escalation v1 or v2: {error.errors()[0]['msg']}"
        ) from error
    floor = policy.spike.min_distinct_reporters
    card = {
        "policy_version": policy.policy_version,
        "escalations": score(labels, triggers, floor=floor).as_dict(),
        f"fixed_threshold_{options.fixed_threshold}_reports_in_5_min": score(
            labels,
            fixed_threshold_triggers(labels, policy, reports=options.fixed_threshold),
            floor=floor,
        ).as_dict(),
    }
    print_lines(card_lines(card))
    _compare(earlier, scored_of_card(card), options)
    if options.card:
        write_output(options.card, orjson.dumps(card, option=orjson.OPT_INDENT_2), "card")
    return 0


def _score_scenarios(
    settings: Settings, policy: Policy, options: ReplayOptions, earlier: dict[str, Scored] | None
) -> int:
    seeds = parse_seeds(options.seeds)
    figures = scenario_figures(
        policy,
        scenario_names(options.scenario or ""),
        seeds,
        partitions=settings.topic_partitions,
        max_message_bytes=settings.max_message_bytes,
        fixed_reports=options.fixed_threshold,
        jobs=options.jobs,
        with_findings=options.explain,
        progress=print_progress if options.progress else lambda _: None,
    )
    if options.progress:
        print(file=sys.stderr)
    for figure in figures:
        card = {
            figure.name: figure.policy.as_dict(),
            f"{figure.name} fixed": figure.fixed.as_dict(),
        }
        print_lines(card_lines(card))
        if options.explain:
            print_lines(explained_lines(list(figure.findings)))
    cards = {
        f.name: {
            "messages": f.messages,
            "policy": f.policy.as_dict(),
            "fixed": f.fixed.as_dict(),
        }
        for f in figures
    }
    _compare(earlier, scored_of_card(cards), options)
    if options.card:
        write_output(options.card, orjson.dumps(cards, option=orjson.OPT_INDENT_2), "card")
    if options.markdown is not None:
        text = figures_markdown(figures, seeds, policy, options.fixed_threshold)
        if options.markdown == "-":
            sys.stdout.write(text)
        else:
            write_output(options.markdown, text.encode(), "figures")
    return 0


def _replay_messages(replay: Replay, messages: Iterator[InputMessage], progress: Progress) -> None:
    stdout = sys.stdout.buffer
    for message in messages:
        write_escalations(replay.feed(message), stdout)
        progress.update(replay.result.messages, len(replay.result.escalations))


async def _replay_topic(
    replay: Replay, settings: Settings, span: TopicRange, progress: Progress
) -> None:
    stdout = sys.stdout.buffer
    async for message in topic_messages(settings.kafka_bootstrap, span, **client_options(settings)):
        write_escalations(replay.feed(message), stdout)
        progress.update(replay.result.messages, len(replay.result.escalations))


def _read_lines(log: str, what: str = "report log") -> list[bytes]:
    try:
        if log == "-":
            return sys.stdin.buffer.read().splitlines()
        return Path(log).read_bytes().splitlines()
    except OSError as error:
        raise ReplaySourceError(f"cannot read {what} {log}: {error.strerror}") from error


def _each_line(log: str) -> Iterator[bytes]:
    """A report log's lines one at a time: a log as large as a topic is never held."""
    if log == "-":
        yield from sys.stdin.buffer
        return
    try:
        with Path(log).open("rb") as lines:
            yield from lines
    except OSError as error:
        raise ReplaySourceError(f"cannot read report log {log}: {error.strerror}") from error


def _millis(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as error:
        raise ReplaySourceError(f"not an RFC 3339 time: {text!r}") from error
    if moment.tzinfo is None:
        raise ReplaySourceError(f"time {text!r} needs an offset, e.g. Z or +00:00")
    return int(moment.timestamp() * 1000)


def each_message(
    settings: Settings,
    log: str | None,
    topic: str | None,
    span: tuple[str | None, str | None],
    consume: Callable[[InputMessage], None],
) -> None:
    """Every message of a log file or of a topic, as replay reads them, handed to
    ``consume`` one at a time (``calibrate``): a topic, or a log, may hold days of reports,
    more than fit in memory at once. ``span`` is the RFC 3339 ``(from, to)`` of the records' Kafka
    timestamps to read, a topic's only."""
    if (log is None) == (topic is None):
        raise ReplaySourceError("give either a log file or --topic, not both and not neither")
    if topic is None:
        if span != (None, None):
            raise ReplaySourceError(
                "--from-time and --to-time select a topic's records: add --topic"
            )
        for message in file_messages(
            _each_line(log or "-"), settings.topic_partitions, "calibrate"
        ):
            consume(message)
        return

    async def read() -> None:
        chosen = TopicRange(topic, None, None, _millis(span[0]), _millis(span[1]))
        options = client_options(settings)
        async for message in topic_messages(settings.kafka_bootstrap, chosen, **options):
            consume(message)

    asyncio.run(read())

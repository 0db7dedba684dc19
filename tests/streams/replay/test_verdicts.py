"""Replay scored against people's verdicts: pages kept, pages avoided, incidents missed."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
import yaml

from alerting.policy import load_policy
from models.escalation import EventAction, Severity
from models.escalation_v2 import EscalationV2, parse_escalation
from models.verdict import Verdict, VerdictKind
from streams.cli import main
from streams.replay.verdicts import (
    VerdictSourceError,
    judged,
    names_a_file,
    score_verdicts,
    verdicts_from_lines,
)
from tests.support.escalations import escalation
from tests.support.kafka import send_all

POLICY = load_policy()
T0 = datetime(2026, 12, 2, 18, 0, tzinfo=UTC)


def live_key(broadcast_id: str, at: datetime = T0) -> str:
    return f"spikewatch:{broadcast_id}:harassment:{int(at.timestamp() * 1000)}"


def verdict(key: str, kind: VerdictKind, minutes: float = 5) -> Verdict:
    return Verdict(
        dedup_key=key, verdict=kind, actor="p-1", decided_at=T0 + timedelta(minutes=minutes)
    )


def page(broadcast_id: str, at: datetime, severity: Severity = Severity.ERROR) -> EscalationV2:
    return escalation(
        f"candidate-{broadcast_id}", severity=severity, at=at.timestamp(), broadcast_id=broadcast_id
    )


def test_key_names_its_broadcast_and_start_even_with_colons_and_a_class() -> None:
    plain = judged(verdict("spikewatch:a:b:harassment:1764698400000", VerdictKind.CONFIRMED))
    assert (plain.broadcast_id, plain.started_at) == ("a:b", 1764698400.0)
    classed = judged(
        verdict("spikewatch:x:spam:coordinated_reporting:5000", VerdictKind.COORDINATED)
    )
    assert (classed.broadcast_id, classed.started_at) == ("x", 5.0)
    assert judged(verdict("pagerduty-123", VerdictKind.CONFIRMED)).broadcast_id is None


def test_each_kind_of_outcome_is_counted() -> None:
    verdicts = [
        verdict(live_key("kept"), VerdictKind.CONFIRMED),
        verdict(live_key("missed"), VerdictKind.CONFIRMED),
        verdict(live_key("avoided"), VerdictKind.FALSE_ALARM),
        verdict(live_key("campaign"), VerdictKind.COORDINATED),
        verdict(live_key("still"), VerdictKind.FALSE_ALARM),
        verdict(live_key("dup"), VerdictKind.DUPLICATE),
        verdict("elsewhere-1", VerdictKind.CONFIRMED),
    ]
    candidate = [
        page("kept", T0 + timedelta(minutes=3)),
        page("still", T0 - timedelta(minutes=1)),
        page("missed", T0 + timedelta(hours=2)),
        page("avoided", T0, severity=Severity.WARNING),
    ]
    score = score_verdicts(verdicts, candidate, window=900)
    assert score.as_dict() == {
        "judged": 7,
        "confirmed": 2,
        "unwanted": 3,
        "duplicates": 1,
        "kept": 1,
        "missed": 1,
        "avoided": 2,
        "still_paged": 1,
        "unmatched": 1,
    }


def test_the_latest_verdict_on_an_incident_is_the_one_scored() -> None:
    key = live_key("b")
    changed_mind = [
        verdict(key, VerdictKind.CONFIRMED, minutes=9),
        verdict(key, VerdictKind.FALSE_ALARM, minutes=4),
    ]
    score = score_verdicts(changed_mind, [page("b", T0)])
    assert (score.judged, score.kept, score.still_paged) == (1, 1, 0)


def test_an_exact_key_match_counts_without_parsing_it() -> None:
    live = escalation("pd-incident-7", at=T0.timestamp(), broadcast_id="z")
    score = score_verdicts([verdict("pd-incident-7", VerdictKind.CONFIRMED)], [live])
    assert (score.kept, score.unmatched) == (1, 0)


def test_a_bad_line_in_a_verdict_file_names_the_line() -> None:
    good = verdict(live_key("a"), VerdictKind.CONFIRMED).to_json_bytes()
    with pytest.raises(
        VerdictSourceError, match=r"labels\.jsonl line 2: dedup_key: Field required"
    ):
        verdicts_from_lines([good, b'{"schema_version":1,"verdict":"meh"}'], "labels.jsonl")


def test_replay_command_scores_a_candidate_against_verdicts(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes], surge_log: Path
) -> None:
    log = surge_log
    assert main(["replay", str(log)]) == 0
    out, _ = capsysbinary.readouterr()
    live = [parse_escalation(line) for line in out.splitlines()]
    pages = [e for e in live if e.event_action is EventAction.TRIGGER and e.severity.pages]
    assert len(pages) >= 3
    labels = [
        verdict(pages[0].dedup_key, VerdictKind.CONFIRMED),
        verdict(pages[1].dedup_key, VerdictKind.CONFIRMED),
        verdict(pages[2].dedup_key, VerdictKind.FALSE_ALARM),
    ]
    verdict_file = tmp_path / "verdicts.jsonl"
    verdict_file.write_bytes(b"\n".join(v.to_json_bytes() for v in labels) + b"\n")

    card = tmp_path / "card.json"
    assert main(["replay", str(log), "--verdicts", str(verdict_file), "--card", str(card)]) == 0
    _, err = capsysbinary.readouterr()
    assert "kept 2/2 confirmed pages (missed 0)" in err.decode()
    assert orjson.loads(card.read_bytes())["verdicts"]["still_paged"] == 1

    quiet = POLICY.model_dump(mode="json")
    for category in quiet["categories"].values():
        category.update(severity="warning", max_severity="warning")
    quiet_file = tmp_path / "quiet.yaml"
    quiet_file.write_text(yaml.safe_dump(quiet), encoding="utf-8")
    assert (
        main(
            [
                "replay",
                str(log),
                "--policy",
                str(quiet_file),
                "--verdicts",
                str(verdict_file),
                "--card",
                str(card),
            ]
        )
        == 0
    )
    figures = orjson.loads(card.read_bytes())["verdicts"]
    assert (figures["missed"], figures["avoided"]) == (2, 1), "a policy that never pages"


@pytest.mark.kafka
def test_verdicts_that_are_neither_file_nor_topic_say_so(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    bootstrap: str,
) -> None:
    monkeypatch.setenv("SPIKEWATCH_KAFKA_BOOTSTRAP", bootstrap)
    log = tmp_path / "empty.jsonl"
    log.write_bytes(b"")
    assert main(["replay", str(log), "--verdicts", "no-such-topic-or-file"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: no-such-topic-or-file is neither a file nor a readable topic")


@pytest.mark.parametrize("name", ["labels.jsonl", "out/verdicts", "labels.json"])
def test_a_missing_verdict_file_is_named_without_asking_kafka(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    monkeypatch.setenv("SPIKEWATCH_KAFKA_BOOTSTRAP", "127.0.0.1:1")
    log = tmp_path / "empty.jsonl"
    log.write_bytes(b"")
    assert main(["replay", str(log), "--verdicts", str(tmp_path / name)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: verdicts file {tmp_path / name}: no such file"), err


def test_only_a_path_or_a_json_lines_name_is_taken_for_a_file() -> None:
    assert names_a_file("labels.jsonl")
    assert names_a_file("./verdicts")
    assert not names_a_file("spikewatch.oncall-verdicts")


@pytest.mark.kafka
def test_verdicts_are_read_from_a_topic_to_its_end(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    bootstrap: str,
) -> None:
    topic = f"verdicts{time.time_ns()}"
    confirmed = verdict(live_key("gone"), VerdictKind.CONFIRMED)
    messages = [(b"k", confirmed.to_json_bytes()), (b"junk", b"not a verdict")]
    asyncio.run(send_all(bootstrap, topic, messages))
    monkeypatch.setenv("SPIKEWATCH_KAFKA_BOOTSTRAP", bootstrap)
    log = tmp_path / "empty.jsonl"
    log.write_bytes(b"")
    assert main(["replay", str(log), "--verdicts", topic]) == 0
    err = capsys.readouterr().err
    assert "kept 0/1 confirmed pages (missed 1)" in err
    assert "1 unreadable verdicts on the topic skipped" in err


def test_a_v2_key_names_its_broadcast_and_start_by_team() -> None:
    plain = judged(verdict("spikewatch:a:b:hate-harassment:1764698400000", VerdictKind.CONFIRMED))
    assert (plain.broadcast_id, plain.started_at) == ("a:b", 1764698400.0)
    classed = judged(
        verdict(
            "spikewatch:x:integrity-coordination:coordinated_reporting:5000",
            VerdictKind.COORDINATED,
        )
    )
    assert (classed.broadcast_id, classed.started_at) == ("x", 5.0)

"""``replay --explain``: a line per false page and per missed incident, agreeing with the
scorecard, and saying what a missed incident's broadcast got instead."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from alerting.policy import load_policy
from models.escalation import EscalationClass, EscalationLabels, EventAction, Severity
from models.escalation_v2 import EscalationV2, upgrade_v1
from models.report import Category
from streams.cli import main
from streams.replay.explain import SUMMARY_CHARACTERS, explain
from streams.replay.labels import LabelKind, LabelledReport, Trigger
from streams.replay.scenarios.catalogue import build_scenario
from streams.replay.scoring import score
from tests.models.test_escalation import escalation as escalation_v1

T0 = 1_800_000_000.0
H = Category.HARASSMENT
FLOOR = load_policy().spike.min_distinct_reporters
RAMP = EscalationClass.REPORT_RAMP
SPIKE = EscalationClass.REPORT_SPIKE


def label(
    at: float, broadcast: str, kind: LabelKind, incident: str | None = None
) -> LabelledReport:
    return LabelledReport(T0 + at, broadcast, H, kind, incident, delivered_at=T0 + at)


def trigger(
    at: float,
    broadcast: str,
    key: str,
    severity: Severity = Severity.ERROR,
    cls: EscalationClass = SPIKE,
) -> Trigger:
    return Trigger(broadcast, H, T0 + at, severity, cls, "hate-harassment", key)


def sent(
    at: float,
    broadcast: str,
    key: str,
    summary: str,
    action: EventAction = EventAction.TRIGGER,
    severity: Severity = Severity.ERROR,
) -> EscalationV2:
    return upgrade_v1(
        escalation_v1(
            dedup_key=key,
            event_action=action,
            severity=severity,
            summary=summary,
            labels=EscalationLabels(broadcast_id=broadcast, category=H, team="t"),
            detected_at=datetime.fromtimestamp(T0 + at, UTC),
        )
    )


LABELS = [
    label(0, "bg", LabelKind.BACKGROUND),
    label(10, "big", LabelKind.VIRAL),
    label(400, "big", LabelKind.SURGE, "big-surge"),
    label(401, "big", LabelKind.SURGE, "big-surge"),
    label(20, "quiet", LabelKind.BACKGROUND),
    label(500, "quiet", LabelKind.SURGE, "quiet-surge"),
    label(30, "warned", LabelKind.BACKGROUND),
    label(600, "warned", LabelKind.RAMP, "slow-ramp"),
    label(40, "caught", LabelKind.SURGE, "caught"),
]
TRIGGERS = [
    trigger(5, "bg", "k-bg"),
    trigger(60, "big", "k-big", cls=RAMP),
    trigger(630, "warned", "k-warned", Severity.WARNING),
    trigger(43, "caught", "k-caught"),
]
ESCALATIONS = [
    sent(5, "bg", "k-bg", "report_spike: harassment on broadcast bg: 6 where 0.20 expected"),
    sent(60, "big", "k-big", "report_ramp: harassment on broadcast big: CUSUM 10.9"),
    sent(404.5, "big", "k-big", "Updated: 19 within 30 s", EventAction.UPDATE),
    sent(630, "warned", "k-warned", "report_ramp: climbing", severity=Severity.WARNING),
    sent(43, "caught", "k-caught", "report_spike: caught"),
]


def test_every_false_page_and_every_miss_gets_a_line_as_the_scorecard_counts_them() -> None:
    lines = [finding.line for finding in explain(LABELS, TRIGGERS, ESCALATIONS)]
    card = score(LABELS, TRIGGERS, floor=FLOOR)
    assert sum(line.startswith("false page") for line in lines) == card.false_pages == 2
    missed = [line.split(": ")[1].split(" (")[0] for line in lines if line.startswith("missed")]
    assert sorted(missed) == card.missed == ["big-surge", "quiet-surge", "slow-ramp"]
    assert not any("caught" in line for line in lines)


def test_lines_come_in_log_order_with_seconds_from_the_first_report() -> None:
    lines = [finding.line for finding in explain(LABELS, TRIGGERS, ESCALATIONS)]
    assert [line.split(":")[0] for line in lines] == [
        "false page at 5 s",
        "false page at 60 s",
        "missed at 400 s",
        "missed at 500 s",
        "missed at 600 s",
    ]


def test_a_false_page_names_the_broadcast_its_kind_and_the_summary() -> None:
    first = explain(LABELS, TRIGGERS, ESCALATIONS)[0].line
    assert first == (
        "false page at 5 s: bg (background), report_spike on harassment: "
        "report_spike: harassment on broadcast bg: 6 where 0.20 expected"
    )


def test_a_surge_on_an_incident_opened_before_it_says_so_and_gives_the_update() -> None:
    line = next(f.line for f in explain(LABELS, TRIGGERS, ESCALATIONS) if "big-surge" in f.line)
    assert line == (
        "missed at 400 s: big-surge (surge, 2 reports: harassment) on big (viral): the "
        "broadcast's incident, opened 340 s before the onset by report_ramp on harassment, "
        "was still open; updated 4.5 s after the onset: Updated: 19 within 30 s"
    )


def test_an_incident_resolved_before_the_onset_is_not_blamed() -> None:
    resolved = [*ESCALATIONS, sent(300, "big", "k-big", "Resolved", EventAction.RESOLVE)]
    line = next(f.line for f in explain(LABELS, TRIGGERS, resolved) if "big-surge" in f.line)
    assert line.endswith("on big (viral): no trigger on the broadcast from the onset on")


def test_a_miss_says_whether_the_broadcast_got_nothing_or_only_a_warning() -> None:
    found = {
        f.line.split(": ")[1].split(" ")[0]: f.line for f in explain(LABELS, TRIGGERS, ESCALATIONS)
    }
    assert found["quiet-surge"].endswith("no trigger on the broadcast from the onset on")
    assert found["slow-ramp"].endswith(
        "the first trigger after the onset was warning report_spike on harassment, 30.0 s "
        "after it: report_ramp: climbing"
    )


def test_long_summaries_are_cut_and_a_log_without_labels_has_nothing_to_explain() -> None:
    long = [sent(5, "bg", "k-bg", "x" * 500)]
    line = explain(LABELS[:1], TRIGGERS[:1], long)[0].line
    assert line.endswith("x" * (SUMMARY_CHARACTERS - 3) + "...")
    assert explain([], TRIGGERS, ESCALATIONS) == []


def _surge_log(path: Path, relabel: str | None = None) -> Path:
    """The surge scenario's log; ``relabel``'s reports are marked ordinary background."""
    lines = []
    for message in build_scenario("surge", seed=3):
        report = orjson.loads(message.value)
        if relabel is not None and report["broadcast_id"] == relabel:
            report["label"] = {"kind": "background"}
        lines.append(orjson.dumps(report))
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def test_replay_explain_says_when_there_is_nothing_to_explain(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["replay", str(_surge_log(tmp_path / "surge.jsonl")), "--explain"]) == 0
    err = capsys.readouterr().err
    assert "recall 100% (6/6)" in err
    assert "explain: no false page and no missed incident" in err


def test_replay_explain_names_a_page_on_a_broadcast_labelled_ordinary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    surged = next(
        orjson.loads(m.value)["broadcast_id"]
        for m in build_scenario("surge", seed=3)
        if orjson.loads(m.value)["label"].get("incident")
    )
    log = _surge_log(tmp_path / "relabelled.jsonl", relabel=surged)
    assert main(["replay", str(log), "--explain"]) == 0
    explained = [line for line in capsys.readouterr().err.splitlines() if "false page at" in line]
    assert len(explained) == 1
    assert f": {surged} (background), report_spike on " in explained[0]


def test_scenario_replay_explains_each_seeds_misses_under_the_scorecard(
    capsys: pytest.CaptureFixture[str],
) -> None:
    blind = ["--set", "spike.trigger_p_value=1e-60", "--set", "ramp.threshold=1000"]
    argv = ["replay", "--scenario", "surge", "--seeds", "3", *blind, "--explain", "--no-progress"]
    assert main(argv) == 0
    lines = capsys.readouterr().err.splitlines()
    card = next(line for line in lines if line.startswith("surge: recall"))
    detected, incidents = (int(n) for n in card.split("(")[1].split(")")[0].split("/"))
    missed = [line for line in lines if line.startswith("surge seed 3: missed at ")]
    assert incidents - detected == len(missed) > 0
    assert all(line.endswith("no trigger on the broadcast from the onset on") for line in missed)

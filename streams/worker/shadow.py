"""Shadow mode: a candidate policy decides live beside the active one, paging nobody.

Operations analysts tune a policy on replay first, then watch it on live traffic
before it goes live. The shadow lane sees every report the active engine
accepted, in the same order, but keeps its own engine and its own state (a
separate table, hence a separate changelog: nothing the shadow learns or opens
can touch the active incidents). Its escalations carry ``shadow: true`` and go
to the shadow topic only, never to an on-call topic.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from alerting.engine import DetectionEngine
from alerting.state import BroadcastState
from models.escalation import Escalation
from models.report import ReportEvent
from streams.worker.state_cache import BroadcastStates


@dataclass(slots=True)
class ShadowLane:
    engine: DetectionEngine
    states: BroadcastStates
    _touched: dict[str, BroadcastState] = field(default_factory=dict)
    _learning: set[int] = field(default_factory=set)

    def observe(self, report: ReportEvent, decided_at: float | None) -> list[Escalation]:
        state = self.states.get(report.broadcast_id)
        partition = self.states.partition(report.broadcast_id)
        observation = self.engine.observe(
            state, report, decided_at=decided_at, learner=self.states.learner(partition)
        )
        self._touched[report.broadcast_id] = state
        self._learning.add(partition)
        return marked(observation.escalations)

    def save(self) -> None:
        """Write what this batch changed, once per broadcast, like the active lane."""
        self.states.save(self._touched.values())
        self.states.save_learners(self._learning)
        self._touched.clear()
        self._learning.clear()


def marked(escalations: list[Escalation]) -> list[Escalation]:
    return [escalation.model_copy(update={"shadow": True}) for escalation in escalations]

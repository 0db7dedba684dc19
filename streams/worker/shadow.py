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
from models.escalation import Escalation
from models.report import ReportEvent
from streams.worker.state_cache import BroadcastStates, Touched


@dataclass(slots=True)
class ShadowLane:
    engine: DetectionEngine
    states: BroadcastStates
    _touched: Touched = field(default_factory=Touched)

    def observe(self, report: ReportEvent, decided_at: float | None) -> list[Escalation]:
        state = self.states.get(report.broadcast_id)
        partition = self.states.partition(report.broadcast_id)
        observation = self.engine.observe(
            state, report, decided_at=decided_at, learner=self.states.learner(partition)
        )
        self._touched.states[report.broadcast_id] = state
        self._touched.learners.add(partition)
        return marked(observation.escalations)

    def save(self) -> None:
        """Write what this batch changed, once per broadcast, like the active lane."""
        self._touched.write_to(self.states)
        self._touched = Touched()


def marked(escalations: list[Escalation]) -> list[Escalation]:
    return [escalation.model_copy(update={"shadow": True}) for escalation in escalations]

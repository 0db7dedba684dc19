"""Shadow mode: a candidate policy decides live beside the active one, paging nobody.

Operations analysts tune a policy on replay first, then watch it on live traffic
before it goes live. The shadow lane sees every report the active engine
accepted, in the same order, but keeps its own engine and its own state (a
separate table, hence a separate changelog: nothing the shadow learns or opens
can touch the active incidents). Its escalations carry ``shadow: true`` and go
to the shadow topic only, never to an on-call topic.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from alerting.engine import DetectionEngine
from models.escalation_v2 import EscalationV2
from models.report import ReportEvent
from streams.worker.state_cache import BroadcastStates, Touched


@dataclass(slots=True)
class ShadowLane:
    engine: DetectionEngine
    states: BroadcastStates
    _touched: Touched = field(default_factory=Touched)

    def observe(
        self, report: ReportEvent, decided_at: float | None, record_time: float | None = None
    ) -> list[EscalationV2]:
        state = self.states.get(report.broadcast_id)
        partition = self.states.partition(report.broadcast_id)
        observation = self.engine.observe(
            state,
            report,
            decided_at=decided_at,
            learner=self.states.learner(partition),
            record_time=record_time,
        )
        self._touched.states[report.broadcast_id] = state
        self._touched.learners.add(partition)
        return marked(observation.escalations)

    def saving(self) -> Iterator[None]:
        """Write what the batches changed since the last write, once per broadcast and a
        step at a time, like the active lane; what is decided meanwhile waits for the next."""
        touched, self._touched = self._touched, Touched()
        return touched.writing(self.states)


def marked(escalations: list[EscalationV2]) -> list[EscalationV2]:
    return [escalation.model_copy(update={"shadow": True}) for escalation in escalations]

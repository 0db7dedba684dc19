"""Wire contracts of spikewatch: what comes in, what goes out, what is refused.

Pure pydantic v2 models; nothing here talks to Kafka. Downstream consumers get the
same contracts as JSON Schema files in ``models/schemas/``.
"""

from models.dead_letter import DeadLetter, DeadLetterReason
from models.escalation import (
    Escalation,
    EscalationClass,
    EscalationLabels,
    EventAction,
    Evidence,
    RuleFiring,
    Severity,
)
from models.report import Category, MediaType, Platform, ReporterInfo, ReportEvent

__all__ = [
    "Category",
    "DeadLetter",
    "DeadLetterReason",
    "Escalation",
    "EscalationClass",
    "EscalationLabels",
    "EventAction",
    "Evidence",
    "MediaType",
    "Platform",
    "ReportEvent",
    "ReporterInfo",
    "RuleFiring",
    "Severity",
]

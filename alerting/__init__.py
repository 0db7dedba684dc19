"""The decision core of spikewatch: windows, detectors, incident lifecycle, policy.

Pure Python over plain data. It never imports faust, aiokafka or
prometheus_client (ruff's banned-api rule enforces it), so every rule is tested
without a broker and the replay command runs the very same code offline.
"""

from alerting.engine import DetectionEngine, Observation, TickResult
from alerting.policy import Policy, PolicyError, load_policy
from alerting.state import BroadcastState

__all__ = [
    "BroadcastState",
    "DetectionEngine",
    "Observation",
    "Policy",
    "PolicyError",
    "TickResult",
    "load_policy",
]

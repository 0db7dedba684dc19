"""The decision core of spikewatch: windows, detectors, incident lifecycle, policy.

Pure Python over plain data. It never imports faust, aiokafka or
prometheus_client (ruff's banned-api rule enforces it), so every rule is tested
without a broker and the replay command runs the very same code offline.

Most of it is compiled with mypyc at install time (see ``alerting.compiled``):
the stale-build check runs first, before any compiled module can be loaded.
"""

from pathlib import Path

from alerting.compiled import refuse_stale_build

refuse_stale_build(Path(__file__).parent)

from alerting.engine import DetectionEngine  # noqa: E402
from alerting.outcomes import Observation, TickResult  # noqa: E402
from alerting.policy import Policy, PolicyError, load_policy  # noqa: E402
from alerting.state import BroadcastState  # noqa: E402

__all__ = [
    "BroadcastState",
    "DetectionEngine",
    "Observation",
    "Policy",
    "PolicyError",
    "TickResult",
    "load_policy",
]

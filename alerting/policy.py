"""Detection policy as validated data.

Everything a trust & safety analyst may want to tune lives in one YAML file,
validated here before anything runs (a typo fails start-up with the field's name
instead of silently using a default), and versioned: every escalation carries
``policy_version`` so a page can always be traced to the rules that produced it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from models.escalation import Severity
from models.report import Category

DEFAULT_POLICY_PATH = Path(__file__).parent / "policies" / "default.yaml"

PositiveSeconds = Annotated[float, Field(gt=0)]


class PolicyError(ValueError):
    """A policy file that cannot be used; the message is one line naming the field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class WindowPolicy(_Strict):
    """Sliding event-time window: ``length_seconds`` summed over ``bucket_seconds`` buckets.

    Example: length 300, bucket 10 keeps 30 buckets; a report at 12:00:07 lands in
    the 12:00:00 bucket, and at event time 12:05:03 the window covers the buckets
    from 12:00:10 on, so the 12:00:00 bucket has left it.
    """

    length_seconds: PositiveSeconds = 300
    bucket_seconds: PositiveSeconds = 10
    allowed_lateness_seconds: Annotated[float, Field(ge=0)] = 60
    max_reporters_per_category: Annotated[int, Field(ge=10)] = 10_000

    @model_validator(mode="after")
    def _buckets_fit(self) -> WindowPolicy:
        if self.bucket_seconds > self.length_seconds:
            raise ValueError("bucket_seconds must not exceed length_seconds")
        return self


class LifecyclePolicy(_Strict):
    """Hysteresis: an incident resolves only after this long without an active signal."""

    resolve_after_quiet_seconds: PositiveSeconds = 300
    repeat_interval_seconds: Annotated[float, Field(ge=0)] = 0


class SpikePolicy(_Strict):
    """Audience-normalised surge test (Poisson upper tail on distinct reporters).

    ``trigger_p_value`` is the high mark that opens an incident; ``sustain_p_value``
    the low mark that keeps one open.
    """

    trigger_p_value: Annotated[float, Field(gt=0, lt=1)] = 1e-6
    sustain_p_value: Annotated[float, Field(gt=0, lt=1)] = 1e-3
    min_distinct_reporters: Annotated[int, Field(ge=1)] = 5
    min_viewers: Annotated[int, Field(ge=1)] = 50
    default_viewers: Annotated[int, Field(ge=1)] = 200

    @model_validator(mode="after")
    def _marks_ordered(self) -> SpikePolicy:
        if self.sustain_p_value < self.trigger_p_value:
            raise ValueError("sustain_p_value must be >= trigger_p_value (the low mark)")
        return self


class CredibleReportPolicy(_Strict):
    """Which single reports are credible enough to escalate on their own."""

    categories: frozenset[Category] = frozenset({Category.CHILD_SAFETY, Category.VIOLENT_EXTREMISM})
    min_trust: Annotated[float, Field(ge=0, le=1)] = 0.8
    min_account_age_days: Annotated[int, Field(ge=0)] = 30


class CategoryPolicy(_Strict):
    team: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")]
    severity: Severity
    max_severity: Severity = Severity.CRITICAL
    base_rate_per_viewer_second: Annotated[float, Field(gt=0)] = Field(
        description="Prior for reports per concurrent viewer per second on a benign broadcast."
    )


class OncallPolicy(_Strict):
    """Targets of the on-call loop, measured from acknowledgements (see models.acknowledgement).

    ``ack_sla_seconds`` is the time on-call has to acknowledge an incident of a
    severity; severities not listed have no SLA. Timelines are forgotten
    ``keep_resolved_seconds`` after resolution (late acknowledgements still
    match until then) and ``keep_open_seconds`` after they began if never resolved.
    """

    ack_sla_seconds: dict[Severity, PositiveSeconds] = Field(
        default_factory=lambda: {Severity.CRITICAL: 300.0, Severity.ERROR: 900.0}
    )
    keep_resolved_seconds: PositiveSeconds = 3600
    keep_open_seconds: PositiveSeconds = 7 * 86400


class Policy(_Strict):
    policy_version: Annotated[str, Field(min_length=1, max_length=64)]
    window: WindowPolicy = WindowPolicy()
    lifecycle: LifecyclePolicy = LifecyclePolicy()
    spike: SpikePolicy = SpikePolicy()
    credible_report: CredibleReportPolicy = CredibleReportPolicy()
    oncall: OncallPolicy = OncallPolicy()
    categories: dict[Category, CategoryPolicy]

    @model_validator(mode="after")
    def _every_category_routed(self) -> Policy:
        missing = sorted(set(Category) - set(self.categories))
        if missing:
            raise ValueError(f"categories: no route for {', '.join(missing)}")
        return self

    def category(self, category: Category) -> CategoryPolicy:
        return self.categories[category]

    @property
    def teams(self) -> frozenset[str]:
        return frozenset(route.team for route in self.categories.values())


def load_policy(path: Path | str = DEFAULT_POLICY_PATH) -> Policy:
    """Read and validate a policy file; raise :class:`PolicyError` with one clear line."""
    source = Path(path)
    try:
        raw = yaml.safe_load(source.read_text(encoding="utf-8"))
    except OSError as error:
        raise PolicyError(f"policy file {source}: {error.strerror}") from error
    except UnicodeDecodeError as error:
        raise PolicyError(f"policy file {source}: not UTF-8 text (byte {error.start})") from error
    except yaml.YAMLError as error:
        raise PolicyError(f"policy file {source}: not valid YAML ({_first_line(error)})") from error
    try:
        return Policy.model_validate(raw)
    except ValidationError as error:
        first = error.errors(include_url=False, include_input=False)[0]
        field = ".".join(str(part) for part in first["loc"]) or "(top level)"
        raise PolicyError(f"policy file {source}: {field}: {first['msg']}") from error


def _first_line(error: Exception) -> str:
    return " ".join(str(error).split())[:200]

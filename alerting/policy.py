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
from pydantic import Field, ValidationError, model_validator

from alerting.detection_policy import (
    CredibleReportPolicy,
    HistoryPolicy,
    LearningPolicy,
    PolicySection,
    PositiveSeconds,
    RampPolicy,
    SpikePolicy,
    TrustPolicy,
    WindowPolicy,
)
from models.errors import SpikewatchError, first_problem, one_line
from models.escalation import Severity
from models.report import Category

DEFAULT_POLICY_PATH = Path(__file__).parent / "policies" / "default.yaml"


class PolicyError(SpikewatchError):
    """A policy file that cannot be used; the message is one line naming the field."""

    remedy = "fix the policy file and retry"


class LifecyclePolicy(PolicySection):
    """Hysteresis: an incident resolves only after this long without an active signal.

    ``page_within_seconds``: a signal decided longer than this after the broadcast's newest
    report (a worker catching up on a backlog after an outage, or reading a topic's
    retained history on its first start) does not page. Its incident opens or moves at
    ``warning`` with the delay in its summary, and pages as soon as a signal is decided
    in time, where the abuse is still going on. Paging on-call now for a surge that may
    have ended hours ago asks for an action nobody can take; the escalation still goes to
    the topics, the console and any sink that takes warnings.
    """

    resolve_after_quiet_seconds: PositiveSeconds = 300
    repeat_interval_seconds: Annotated[float, Field(ge=0)] = 0
    page_within_seconds: PositiveSeconds = 900


Team = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")]


class CoordinationPolicy(PolicySection):
    """Coordinated reporting: improbably many *suspect* reporters in the window.

    It opens its own incident class (``coordinated_reporting``) on its own team at
    a non-paging severity, and gives way to an abuse incident on the same
    broadcast and category.
    """

    team: Team = "integrity-coordination"
    severity: Severity = Severity.WARNING
    min_suspect_reporters: Annotated[int, Field(ge=2)] = 8
    min_suspect_share: Annotated[float, Field(gt=0, le=1)] = 0.6
    trigger_p_value: Annotated[float, Field(gt=0, lt=1)] = 1e-6

    @model_validator(mode="after")
    def _never_pages(self) -> CoordinationPolicy:
        if self.severity.pages:
            raise ValueError("severity must not page (warning or info)")
        return self


class HighProfilePolicy(PolicySection):
    """High-profile broadcasters: one severity level up, their own team.

    The broadcaster ids live in ``watchlist_file`` (one id a line, ``#`` comments;
    a relative path is relative to the policy file) so the list can change
    without a restart: the worker re-reads it when its modification time changes.
    """

    team: Team = "high-profile"
    watchlist_file: Path | None = None
    broadcasters: frozenset[Annotated[str, Field(min_length=1, max_length=128)]] = frozenset()


class CategoryPolicy(PolicySection):
    team: Team
    severity: Severity
    max_severity: Severity = Severity.CRITICAL
    base_rate_per_viewer_second: Annotated[float, Field(gt=0)] = Field(
        description="Prior for reports per concurrent viewer per second on a benign broadcast."
    )
    regional_teams: dict[Annotated[str, Field(min_length=1, max_length=64)], Team] = Field(
        default_factory=dict,
        description="Region (the report's region field) -> team, for follow-the-sun on-call.",
    )
    runbook_url: Annotated[str, Field(max_length=2048)] | None = None
    own_team: bool = Field(
        default=False,
        description=(
            "A signal led by this category always pages this category's team: on a "
            "broadcast already in another team's incident, however severe, and on a "
            "high-profile broadcaster's. For a team with duties and training no other team "
            "has (child safety: statutory reports, and who may be shown the material)."
        ),
    )

    def team_for(self, region: str | None) -> str:
        if region is None:
            return self.team
        return self.regional_teams.get(region, self.team)


class OncallPolicy(PolicySection):
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


class Policy(PolicySection):
    policy_version: Annotated[str, Field(min_length=1, max_length=64)]
    window: WindowPolicy = WindowPolicy()
    lifecycle: LifecyclePolicy = LifecyclePolicy()
    spike: SpikePolicy = SpikePolicy()
    credible_report: CredibleReportPolicy = CredibleReportPolicy()
    oncall: OncallPolicy = OncallPolicy()
    trust: TrustPolicy = TrustPolicy()
    coordination: CoordinationPolicy = CoordinationPolicy()
    ramp: RampPolicy = RampPolicy()
    learning: LearningPolicy = LearningPolicy()
    history: HistoryPolicy = HistoryPolicy()
    high_profile: HighProfilePolicy = HighProfilePolicy()
    categories: dict[Category, CategoryPolicy]

    @model_validator(mode="after")
    def _every_category_routed(self) -> Policy:
        missing = sorted(set(Category) - set(self.categories))
        if missing:
            raise ValueError(f"categories: no route for {', '.join(missing)}")
        return self

    @model_validator(mode="after")
    def _quiet_outlasts_the_window(self) -> Policy:
        """An incident resolves after its quiet period and the allowed lateness. Were that
        shorter than the window, it would resolve while the reporters who opened it still
        count, and the broadcast's next report, however ordinary, would page again for the
        same abuse: one incident, two pages."""
        window, quiet = self.window, self.lifecycle.resolve_after_quiet_seconds
        if quiet + window.allowed_lateness_seconds < window.length_seconds:
            raise ValueError(
                f"lifecycle.resolve_after_quiet_seconds ({quiet:g}) plus "
                f"window.allowed_lateness_seconds ({window.allowed_lateness_seconds:g}) is "
                f"shorter than window.length_seconds ({window.length_seconds:g}): an incident "
                "would resolve while its reporters still count and page again on the next "
                "report; lengthen the quiet period or shorten the window"
            )
        return self

    def category(self, category: Category) -> CategoryPolicy:
        return self.categories[category]

    @property
    def teams(self) -> frozenset[str]:
        """Every team an escalation may be routed to (each gets an on-call topic)."""
        teams = {route.team for route in self.categories.values()}
        for route in self.categories.values():
            teams.update(route.regional_teams.values())
        teams.update({self.coordination.team, self.high_profile.team})
        return frozenset(teams)


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
        raise PolicyError(
            f"policy file {source}: not valid YAML ({one_line(str(error), 200)})"
        ) from error
    try:
        policy = Policy.model_validate(raw)
    except ValidationError as error:
        problem = first_problem(error)
        raise PolicyError(
            f"policy file {source}: {problem.dotted or '(top level)'}: {problem.message}"
        ) from error
    watchlist = policy.high_profile.watchlist_file
    if watchlist is None or watchlist.is_absolute():
        return policy
    high_profile = policy.high_profile.model_copy(
        update={"watchlist_file": source.parent / watchlist}
    )
    return policy.model_copy(update={"high_profile": high_profile})


def abuse_categories(policy: Policy) -> frozenset[Category]:
    """The categories whose ceiling pages: what the broadcast-wide abuse statistic counts.

    A category capped below paging (spam, copyright) is low-harm by the policy's own
    word: its reporters are no evidence that a broadcast needs on-call, and its rate
    counted in the broadcast-wide expectation would dilute a surge spread across the
    categories that do page. Such a category keeps its own window and detectors.
    """
    return frozenset(
        category for category in Category if policy.category(category).max_severity.pages
    )

"""A policy's figures changed for one run, without a copy of its file: ``--set KEY=VALUE``.

An analyst weighing a change to the policy measures it before it is deployed
(``spikewatch replay --scenario all --set ramp.threshold=11``). A copy of the file
edited by hand for every value tried is how a file and the figures said of it drift
apart, and nothing in the escalations would say which copy made them. So an override
is a dotted key of the policy file and a value read as YAML (``11``, ``1.0e-3``,
``true``), set in the validated policy's document and validated again as a file is;
the policy's version gains the overrides, so every escalation and scorecard of the run
says its policy was not the file's.

Example: ``with_overrides(policy, ["ramp.threshold=11"])`` on the default policy is
the default with a ramp mark of 11 nats, versioned ``<its version>+ramp.threshold=11``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import yaml
from pydantic import ValidationError

from alerting.policy import Policy, PolicyError
from models.errors import first_problem

_VERSION_LENGTH: int = next(
    limit.max_length
    for limit in Policy.model_fields["policy_version"].metadata
    if getattr(limit, "max_length", None) is not None
)
"""The longest version the policy accepts: overrides that would not fit are named by a
digest of them instead."""


class PolicyOverrideError(PolicyError):
    """An override that is not ``KEY=VALUE`` for a key of the policy, or whose value the
    policy refuses; the message names the override."""

    remedy = (
        "write each --set as KEY=VALUE, a dotted key of the policy file and a value it "
        "accepts, e.g. ramp.threshold=11 (docs/configuration.md)"
    )


def with_overrides(policy: Policy, overrides: Sequence[str]) -> Policy:
    """``policy`` with each ``KEY=VALUE`` of ``overrides`` set, in order, and validated."""
    if not overrides:
        return policy
    document = policy.model_dump()
    for override in overrides:
        _set(document, override)
    document["policy_version"] = _version(policy.policy_version, overrides)
    try:
        return Policy.model_validate(document)
    except ValidationError as error:
        problem = first_problem(error)
        raise PolicyOverrideError(
            f"policy override {' '.join(overrides)}: "
            f"{problem.dotted or '(top level)'}: {problem.message}"
        ) from error


def _set(document: dict[str, Any], override: str) -> None:
    """Set one ``KEY=VALUE`` in ``document``; every part of the key must exist already,
    so that a misspelt key is refused rather than ignored or added."""
    key, equals, text = override.partition("=")
    path = key.strip().split(".")
    if not equals or not all(path):
        raise PolicyOverrideError(f"policy override {override!r}: not KEY=VALUE")
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise PolicyOverrideError(f"policy override {override!r}: the value is not YAML") from error
    node: Any = document
    for depth, part in enumerate(path):
        if not isinstance(node, dict) or part not in node:
            where = ".".join(path[: depth + 1])
            raise PolicyOverrideError(f"policy override {override!r}: the policy has no {where}")
        if depth == len(path) - 1:
            node[part] = value
        else:
            node = node[part]


def _version(version: str, overrides: Sequence[str]) -> str:
    """The file's version with the overrides, or with a digest of them where they would not
    fit in a version."""
    named = f"{version}+{','.join(o.strip() for o in overrides)}"
    if len(named) <= _VERSION_LENGTH:
        return named
    digest = hashlib.sha256("\n".join(overrides).encode()).hexdigest()[:12]
    suffix = f"+set-{digest}"
    return version[: _VERSION_LENGTH - len(suffix)] + suffix

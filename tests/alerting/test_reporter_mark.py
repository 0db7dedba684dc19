"""Tests for alerting/reporter_mark.py: one object per mark wherever it is indexed."""

from __future__ import annotations

from alerting.reporter_mark import WEIGHT_UNIT, ReporterMark, boxed_once

MARK: ReporterMark = (1000.5, 100, True, WEIGHT_UNIT, False, 7, False)


def test_a_mark_equal_to_one_stored_elsewhere_is_that_object() -> None:
    stored = tuple(MARK)
    assert boxed_once(MARK, stored) is stored


def test_a_mark_that_differs_from_the_one_stored_elsewhere_is_its_own() -> None:
    other: ReporterMark = (1000.5, 100, True, WEIGHT_UNIT, True, 7, False)
    boxed = boxed_once(MARK, other)
    assert boxed == MARK
    assert boxed is not other


def test_a_mark_with_nothing_to_share_is_itself() -> None:
    assert boxed_once(MARK, None) == MARK

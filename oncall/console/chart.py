"""Geometry of the incident chart: weighted reporters against what the audience explains.

The console draws it as inline SVG from these numbers, so the page needs no
charting library and the figures can be tested here. Also used for the daily
summary's bar charts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from models.escalation_v2 import SeriesPoint


@dataclass(frozen=True, slots=True)
class LineChart:
    width: int
    height: int
    observed: str
    """SVG polyline points of weighted reporters per bucket."""
    expected: str
    """SVG polyline points of what the audience explains per bucket."""
    top: float
    """The value the chart's top edge stands for."""
    first_label: str
    last_label: str


def line_chart(
    series: Sequence[SeriesPoint], width: int = 640, height: int = 200, margin: int = 8
) -> LineChart | None:
    """None when there is nothing to draw (no series, or a single bucket)."""
    if len(series) < 2:
        return None
    top = max(max(p.weighted_reporters, p.expected) for p in series) or 1.0
    inner_width, inner_height = width - 2 * margin, height - 2 * margin
    step = inner_width / (len(series) - 1)

    def points(values: Sequence[float]) -> str:
        return " ".join(
            f"{margin + index * step:.1f},{margin + inner_height * (1 - value / top):.1f}"
            for index, value in enumerate(values)
        )

    return LineChart(
        width=width,
        height=height,
        observed=points([p.weighted_reporters for p in series]),
        expected=points([p.expected for p in series]),
        top=top,
        first_label=series[0].bucket_start.strftime("%H:%M:%S"),
        last_label=series[-1].bucket_start.strftime("%H:%M:%S"),
    )


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    value: str


def bar_chart(
    labelled: Sequence[tuple[str, float | None]],
    width: int = 640,
    height: int = 160,
    value_format: str = "{:.0f}",
) -> list[Bar]:
    """Bars scaled to the largest value; a None value (nothing to show) draws no bar."""
    if not labelled:
        return []
    top = max((value for _, value in labelled if value is not None), default=0.0) or 1.0
    slot = width / len(labelled)
    bars = []
    for index, (label, value) in enumerate(labelled):
        bar_height = 0.0 if value is None else (height - 20) * value / top
        bars.append(
            Bar(
                x=index * slot + slot * 0.15,
                y=height - 20 - bar_height,
                width=slot * 0.7,
                height=bar_height,
                label=label,
                value="n/a" if value is None else value_format.format(value),
            )
        )
    return bars

"""The benchmark's figures against the issue's targets, as a table or one JSON object."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

GIB = 1024**3
MIB = 1024**2


@dataclass(frozen=True, slots=True)
class Target:
    name: str
    measured: float | None
    limit: float
    at_least: bool
    unit: str

    @property
    def met(self) -> bool | None:
        if self.measured is None:
            return None
        return self.measured >= self.limit if self.at_least else self.measured <= self.limit

    @property
    def miss_percent(self) -> float | None:
        """How far from the limit, in percent of it, when missed."""
        if self.measured is None or self.met:
            return None
        return abs(self.measured - self.limit) / self.limit * 100

    def as_dict(self) -> dict[str, Any]:
        return {
            "measured": self.measured,
            "limit": self.limit,
            "at_least": self.at_least,
            "unit": self.unit,
            "met": self.met,
            "miss_percent": self.miss_percent,
        }


def targets(figures: dict[str, Any]) -> list[Target]:
    latency, state = figures["latency"], figures["state"]
    return [
        Target("spikewatch / B1", figures["ratio_to_b1"]["spikewatch"], 0.5, True, "x"),
        Target(
            "spikewatch reports/s",
            figures["spikewatch"]["reports_per_second"],
            20_000,
            True,
            "reports/s",
        ),
        Target("p99 detection latency", latency["p99_ms"], 500, False, "ms"),
        Target("peak RSS, live broadcasts", state["peak_rss_bytes"] / MIB, 1024, False, "MiB"),
        Target("state restore after restart", state["restore_seconds"], 30, False, "s"),
    ]


def with_targets(figures: dict[str, Any]) -> dict[str, Any]:
    return {**figures, "targets": {t.name: t.as_dict() for t in targets(figures)}}


def table(figures: dict[str, Any]) -> str:
    options, machine = figures["options"], figures["machine"]
    latency, state = figures["latency"], figures["state"]
    ratios = figures["ratio_to_b1"]
    lines = [
        f"spikewatch bench: {options['reports']:,} reports over {options['broadcasts']:,} "
        f"broadcasts, medians of {options['repeat']} run(s)",
        f"machine: {machine['cpus']} CPUs ({machine['cpu_model'] or 'unknown'}), Python "
        f"{machine['python']}, load average {machine['load_average_1m']:.1f} at start, "
        f"{machine['load_average_1m_at_end']:.1f} at end",
        "",
        f"{'':42}{'reports/s':>12}{'ratio to B1':>13}{'CPU µs/report':>15}"
        f"{'CPU ratio':>11}   runs (reports/s)",
    ]
    rows = [
        ("b0", "B0 aiokafka getmany (I/O ceiling)"),
        ("b1", "B1 B0 + orjson decode + counter dict"),
        ("spikewatch", "spikewatch worker, changelog on"),
    ]
    against = figures.get("against")
    if against is not None:
        rows.append(("other", f"--against worker ({against['commit']})"))
    for key, label in rows:
        runs = ", ".join(f"{rate:,.0f}" for rate in figures[key]["runs"])
        row = figures[key]
        lines.append(
            f"{label:42}{row['reports_per_second']:>12,.0f}{ratios[key]:>13.2f}"
            f"{row['cpu_us_per_report']:>15,.1f}{figures['cpu_ratio_to_b1'][key]:>11.2f}   {runs}"
        )
    lines.append(
        f"changelog messages per report (median): {figures['changelog_writes_per_report']:.2f}"
    )
    if against is not None:
        pairs = ", ".join(f"{ratio:.2f}" for ratio in against["cpu_over_other_runs"])
        lines.append(
            f"CPU per report over the --against worker's: {against['cpu_over_other']:.2f} "
            f"(median; repetition by repetition {pairs}); its changelog messages per report "
            f"{against['changelog_writes_per_report']:.2f}"
        )
    lines += [
        "",
        f"detection latency at {latency['background_rate']:,.0f} reports/s background "
        f"(achieved {latency['achieved_rate']:,.0f}/s): {_ms(latency['p50_ms'])} p50, "
        f"{_ms(latency['p99_ms'])} p99, {_ms(latency['max_ms'])} max "
        f"({latency['escalations']} escalations of {latency['injections']} injections); "
        f"{_scraped(latency)}; "
        f"longest garbage-collection pause <= {_bound(latency['longest_gc_pause_at_most_s'])}, "
        f"state writes p99 <= {_bound(latency['state_write_p99_at_most_s'])} "
        "(the worker's histogram buckets)",
        f"{state['broadcasts']:,} live broadcasts: peak RSS "
        f"{state['peak_rss_bytes'] / MIB:,.0f} MiB; a restarted worker restored them in "
        f"{state['restore_seconds']:.1f} s "
        f"(peak RSS {state['restarted_peak_rss_bytes'] / MIB:,.0f} MiB)",
        "",
        "targets:",
    ]
    for target in targets(figures):
        verdict = (
            "no data"
            if target.met is None
            else "met"
            if target.met
            else f"MISSED by {target.miss_percent or 0:.0f}%"
        )
        sign = ">=" if target.at_least else "<="
        measured = "-" if target.measured is None else f"{target.measured:,.2f}"
        limit = f"{sign} {target.limit:,g}"
        lines.append(f"  {target.name:32}{measured:>12} {target.unit:10} {limit:10} {verdict}")
    return "\n".join(lines)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f} ms"


def _bound(seconds: float | None) -> str:
    return "-" if seconds is None else _ms(seconds * 1000)


def _scraped(latency: dict[str, Any]) -> str:
    """How often /metrics was read during the phase; figures of older runs have no such key."""
    every = latency.get("scrape_every_s")
    if not every:
        return "/metrics not scraped"
    if not latency["scrapes"]:
        return f"/metrics scraped every {every:g} s (no read fell within the phase)"
    return (
        f"/metrics scraped every {every:g} s ({latency['scrapes']} reads, median "
        f"{latency['scrape_median_ms']} ms)"
    )

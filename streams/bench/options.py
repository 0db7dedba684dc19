"""What one benchmark run measures, and the presets behind ``--quick`` and ``--tiny``."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace


@dataclass(frozen=True, slots=True)
class BenchOptions:
    reports: int = 200_000
    broadcasts: int = 2_000
    repeat: int = 3
    latency_rate: float = 5_000.0
    latency_seconds: float = 30.0
    scrape_every: float = 15.0
    """Seconds between the latency phase's reads of the worker's /metrics, as Prometheus
    reads it (the deployment's interval); 0 reads it never. The page is built on the event
    loop that decides reports, so its cost is in the latency only when something scrapes."""
    state_broadcasts: int = 100_000
    bootstrap: str | None = None
    against: str | None = None
    """Another checkout whose worker is timed beside this one's (:mod:`streams.bench.against`)."""
    seed: int = 7

    @classmethod
    def preset(cls, *, quick: bool, tiny: bool) -> BenchOptions:
        """``--tiny`` proves the benchmark runs (the smoke test); ``--quick`` is a first look."""
        if tiny:
            return cls(
                reports=3_000,
                broadcasts=200,
                repeat=1,
                latency_rate=200.0,
                latency_seconds=4.0,
                scrape_every=1.0,
                state_broadcasts=2_000,
            )
        if quick:
            return cls(
                reports=30_000,
                broadcasts=1_000,
                repeat=1,
                latency_seconds=8.0,
                state_broadcasts=20_000,
            )
        return cls()

    @staticmethod
    def command_line_fields() -> tuple[str, ...]:
        """Fields a ``spikewatch bench`` option of the same name (dashed) can set."""
        return tuple(f.name for f in fields(BenchOptions) if f.name != "seed")

    def with_overrides(self, **overrides: object) -> BenchOptions:
        """Command-line values win over the preset; ``None`` means "not given"."""
        given = {name: value for name, value in overrides.items() if value is not None}
        return replace(self, **given)  # type: ignore[arg-type]

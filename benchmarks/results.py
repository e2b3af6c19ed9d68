"""What a study writes: one pydantic document per study, with the machine, the load on it, the
command, tables, goals and plot data, so RESULTS.md and the plots are generated, never typed."""

from __future__ import annotations

import importlib.metadata
import json
import os
import platform
import statistics
import time
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, ValidationError

from benchmarks.foreign_load import ForeignLoad


class Machine(BaseModel):
    cpu_model: str
    logical_cpus: int
    memory_gib: float
    system: str
    python: str
    packages: dict[str, str]

    @classmethod
    def describe(cls) -> Machine:
        cpu_model = platform.processor() or "unknown"
        try:
            for line in Path("/proc/cpuinfo").read_text().splitlines():
                if line.startswith("model name"):
                    cpu_model = line.split(":", 1)[1].strip()
                    break
        except OSError:
            pass
        memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
        packages = {}
        for name in ("torch", "onnxruntime", "nvidia-pytriton", "grpcio", "av", "pymilvus", "milvus-lite", "transformers"):
            try:
                packages[name] = importlib.metadata.version(name)
            except importlib.metadata.PackageNotFoundError:
                continue
        return cls(
            cpu_model=cpu_model,
            logical_cpus=os.cpu_count() or 0,
            memory_gib=round(memory_gib, 1),
            system=f"{platform.system()} {platform.release()}",
            python=platform.python_version(),
            packages=packages,
        )

    def summary(self) -> str:
        return f"{self.cpu_model}, {self.logical_cpus} logical CPUs, {self.memory_gib:g} GiB, {self.system}, Python {self.python}"


def load_average() -> tuple[float, float, float]:
    """1, 5 and 15 minute load averages: how busy the shared machine was while measuring."""
    one, five, fifteen = os.getloadavg()
    return round(one, 2), round(five, 2), round(fifteen, 2)


# A goal's verdict is "noisy", never "met" or "missed", past either bound: the per-round ratios
# spread over more than this share of their median, or others used this many cores on average.
MAX_RELATIVE_SPREAD = 0.25
MAX_FOREIGN_LOAD = 0.5
# A ratio from fewer interleaved rounds than this is not a verdict either.
MIN_ROUNDS = 3


class Goal(BaseModel):
    """One goal from the issue and what this run measured for it: the median of the ratios of
    interleaved rounds (`rounds`), their spread, and the foreign load of the study."""

    name: str
    statement: str
    measured: float
    threshold: float
    higher_is_better: bool = True
    unit: str = "×"
    rounds: list[float] = Field(default_factory=list)
    foreign_load: float | None = None

    @classmethod
    def from_rounds(cls, rounds: list[float], **fields: object) -> Goal:
        return cls.model_validate({"measured": round(statistics.median(rounds), 3), "rounds": [round(value, 3) for value in rounds], **fields})

    @property
    def spread(self) -> float:
        """(max - min) / median of the per-round ratios; 0 for a single measurement."""
        return (max(self.rounds) - min(self.rounds)) / abs(self.measured) if len(self.rounds) > 1 and self.measured else 0.0

    @property
    def too_few_rounds(self) -> bool:
        return 0 < len(self.rounds) < MIN_ROUNDS

    @property
    def noisy(self) -> bool:
        return self.too_few_rounds or self.spread > MAX_RELATIVE_SPREAD or (self.foreign_load or 0.0) > MAX_FOREIGN_LOAD

    @property
    def met(self) -> bool:
        reached = self.measured >= self.threshold if self.higher_is_better else self.measured <= self.threshold
        return reached and not self.noisy

    @property
    def verdict(self) -> str:
        if self.too_few_rounds:
            return f"not a verdict: {len(self.rounds)} round(s), {MIN_ROUNDS} needed"
        if self.noisy:
            return f"noisy (spread {self.spread:.0%}, foreign load {self.foreign_load or 0:.2f} cores): not a verdict"
        if self.met:
            return "met"
        if self.higher_is_better:
            return f"missed by {(1 - self.measured / self.threshold) * 100:.0f}%" if self.threshold else "missed"
        return f"missed: {self.measured / self.threshold:.2f}× the limit"

    @property
    def rounds_text(self) -> str:
        return ", ".join(f"{value:.3g}" for value in self.rounds) if self.rounds else "one measurement"


# One cell of a results table.
Cell = str | float | int | None


class Table(BaseModel):
    title: str
    columns: list[str]
    rows: list[list[Cell]]


class PlotSeries(BaseModel):
    name: str
    x: list[float | str]
    y: list[float]


class Plot(BaseModel):
    """A line plot (x numeric, log2 when `log_x`) or a grouped bar chart (x categories)."""

    title: str
    kind: Literal["line", "bar"]
    x_label: str
    y_label: str
    series: list[PlotSeries]
    log_x: bool = False
    log_y: bool = False


class StudyResult(BaseModel):
    study: str
    title: str
    question: str
    created_at: str = Field(default_factory=lambda: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    command: str
    machine: Machine
    load_average_start: tuple[float, float, float]
    load_average_end: tuple[float, float, float] = (0.0, 0.0, 0.0)
    seconds: float = 0.0
    settings: dict[str, object] = Field(default_factory=dict)
    tables: list[Table] = Field(default_factory=list)
    goals: list[Goal] = Field(default_factory=list)
    plots: list[Plot] = Field(default_factory=list)
    peak_rss_mib: dict[str, float] = Field(default_factory=dict)
    # Rounds in which the two sides of each comparison alternated, and the load that was not ours.
    interleaved_rounds: int = 0
    foreign_load: float | None = None
    load: ForeignLoad | None = None
    # The study's findings as records, in the shape its issue asks for (precision, model sizes).
    rows: list[dict[str, object]] = Field(default_factory=list)
    # Raw measurements (load points, timings) for anyone who wants more than the tables.
    measurements: dict[str, object] = Field(default_factory=dict)
    notes: list[str] = Field(default_factory=list)


def write_result(result: StudyResult, results_dir: Path) -> Path:
    results_dir.mkdir(parents=True, exist_ok=True)
    path = results_dir / f"{result.study}.json"
    path.write_text(json.dumps(result.model_dump(mode="json"), indent=2) + "\n")
    return path


def read_results(results_dir: Path) -> dict[str, StudyResult]:
    """Every study result in the folder; other benchmarks' JSON files there (soak, evaluation)
    have their own shapes and are left alone."""
    results = {}
    for path in sorted(results_dir.glob("*.json")):
        try:
            results[path.stem] = StudyResult.model_validate_json(path.read_text())
        except ValidationError:
            continue
    return results

"""Settings of a benchmark run and what every study shares: paths, machine, command, the stack."""

from __future__ import annotations

import time
from pathlib import Path

from pydantic import BaseModel, Field

from benchmarks.foreign_load import ForeignLoadMeter
from benchmarks.processes import ServedStack
from benchmarks.results import Machine, StudyResult, load_average, write_result

BENCH_DIR = Path(__file__).resolve().parent
POWERS_OF_TWO = [1, 2, 4, 8, 16, 32, 64]


class BenchSettings(BaseModel):
    """How big and how long. The defaults are the documented run (each study a few minutes on
    2 shared cores); `quick()` is the seconds-long smoke that `make test` runs."""

    preset: str = "vit-s"
    # Crop sizes of the served-vs-eager study; the batching study uses the first.
    video_crops: list[int] = Field(default_factory=lambda: [128, 224])
    concurrency_sweep: list[int] = Field(default_factory=lambda: list(POWERS_OF_TWO))
    # Video requests take seconds here: a window must hold several rounds of the highest concurrency.
    video_concurrency_sweep: list[int] = Field(default_factory=lambda: [1, 2, 4, 8])
    served_concurrency: list[int] = Field(default_factory=lambda: [2, 4])
    eager_batch_sizes: list[int] = Field(default_factory=lambda: [1, 4, 8])
    text_batch_sizes: list[int] = Field(default_factory=lambda: [32, 128])
    duration_s: float = 4.0
    video_duration_s: float = 8.0
    warmup_s: float = 2.0
    # Seconds of served load per production-sized model (a ViT-g clip takes ~25 s on 2 cores).
    model_size_seconds: float = 90.0
    # Rounds of A/B interleaving where two things are compared at one operating point.
    rounds: int = 3
    decode_resolutions: list[tuple[int, int]] = Field(default_factory=lambda: [(360, 640), (1080, 1920)])
    decode_repeats: int = 12
    index_sizes: list[int] = Field(default_factory=lambda: [10_000, 100_000])
    # Rows the search study fills, per index backend, through IndexVideos.
    search_rows: dict[str, int] = Field(default_factory=lambda: {"milvus-lite": 100_000, "milvus": 1_000_000})
    index_queries: int = 200
    # Open-loop arrival rates (requests/s) of the gateway-overhead study.
    open_loop_rates: list[float] = Field(default_factory=lambda: [10.0, 20.0])
    overhead_concurrency: list[int] = Field(default_factory=lambda: [1, 8])
    results_dir: Path = BENCH_DIR / "results"
    cache_dir: Path = BENCH_DIR / ".cache"
    results_markdown: Path = BENCH_DIR / "RESULTS.md"

    @classmethod
    def quick(cls, **overrides: object) -> BenchSettings:
        values: dict[str, object] = dict(
            preset="tiny", video_crops=[64], concurrency_sweep=[1, 2], video_concurrency_sweep=[1, 2], served_concurrency=[2], eager_batch_sizes=[1, 2],
            text_batch_sizes=[1, 8], duration_s=1.0, video_duration_s=1.0, warmup_s=0.5, rounds=1,
            decode_resolutions=[(90, 160)], decode_repeats=2, model_size_seconds=2.0, index_sizes=[1000], index_queries=10, open_loop_rates=[20.0], overhead_concurrency=[1],
        )
        return cls.model_validate({**values, **overrides})


class StudyContext:
    def __init__(self, settings: BenchSettings, command: str) -> None:
        self.settings = settings
        self.command = command
        self.machine = Machine.describe()
        self._started = time.monotonic()
        self.load_meter: ForeignLoadMeter | None = None

    def new_result(self, study: str, title: str, question: str) -> StudyResult:
        self._started = time.monotonic()
        self.load_meter = ForeignLoadMeter()
        return StudyResult(
            study=study, title=title, question=question, command=self.command, machine=self.machine,
            load_average_start=load_average(), settings=self.settings.model_dump(mode="json"),
        )

    def finish(self, result: StudyResult) -> Path:
        result.load_average_end = load_average()
        result.seconds = round(time.monotonic() - self._started, 1)
        if self.load_meter is not None:
            result.load = self.load_meter.read()
            result.foreign_load = result.load.foreign_load
            for goal in result.goals:
                goal.foreign_load = result.foreign_load
        return write_result(result, self.settings.results_dir)

    def stack(self, repository: Path, name: str, gateway_env: dict[str, str] | None = None) -> ServedStack:
        return ServedStack(repository, self.settings.cache_dir / "logs" / name, gateway_env)

    def scratch(self, name: str) -> Path:
        path = self.settings.cache_dir / name
        path.mkdir(parents=True, exist_ok=True)
        return path

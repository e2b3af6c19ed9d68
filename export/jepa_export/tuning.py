"""Measure, on the machine that exports, how a model should be served (`jepa-export --tune`).

Two choices, each made by timing the real artifact on its real verification inputs:
- the graph recipe (exporter, opset, fusions; `jepa_export.onnx_export`): lowest time per item;
- the serving layout of the served artifact: runtime (ONNX Runtime or OpenVINO, for fp32 where
  both run it), Triton instances and intra-op threads per instance (instances x threads = the
  cores): highest throughput with every instance busy, as under load. Several instances run in
  threads of this process (both runtimes release the GIL), one runtime each, as Triton's python
  backend runs one stub process per instance.
"""

from __future__ import annotations

import itertools
import os
import shutil
import statistics
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from pydantic import BaseModel

from jepa_export.precision import Feeds, link_graph, write_runtime
from jepa_export.repository import RuntimeSpec
from jepa_export.triton_python_model import DEFAULT_GROUP_OVERHEAD_TOKENS, load_runtime, run_batch



class GraphCandidate(BaseModel):
    """One graph recipe: what the optimizer fused, whether it matched PyTorch, and its speed;
    `error` when the exporter could not trace the model this way."""

    recipe: str
    fused_ops: dict[str, int] = {}
    passed: bool
    ms_per_item: float | None = None
    error: str | None = None


class LayoutMeasurement(BaseModel):
    """Throughput of `instances` runtimes busy at once, and the CPU this process spent per item."""

    items_per_s: float
    cpu_ms_per_item: float


class ServingCandidate(LayoutMeasurement):
    runtime: RuntimeSpec
    instance_count: int
    intra_op_threads: int


class ServingChoice(BaseModel):
    """The layout written to config.pbtxt, with every layout measured."""

    chosen: ServingCandidate
    candidates: list[ServingCandidate]
    batch_size: int
    seconds_per_candidate: float


def median_ms_per_item(run: Callable[[], object], items: int, seconds: float, rounds: int = 3) -> float:
    """Median over `rounds` windows of `seconds / rounds` each, after one warm-up call."""
    run()
    medians = []
    for _ in range(rounds):
        calls, started = 0, time.perf_counter()
        while calls < 1 or time.perf_counter() - started < seconds / rounds:
            run()
            calls += 1
        medians.append(1000 * (time.perf_counter() - started) / (calls * items))
    return round(statistics.median(medians), 3)


def layouts(cores: int) -> list[tuple[int, int]]:
    """(instances, threads each) that fill the cores: 1 x all, then more instances, at most 4."""
    return [(instances, cores // instances) for instances in (1, 2, 4) if instances <= cores and cores % instances == 0]


def measure_layout(
    artifact_dir: Path,
    output_names: Sequence[str],
    feeds: Feeds | Sequence[Feeds],
    instances: int,
    threads: int,
    seconds: float,
    group_overhead_tokens: int | None = DEFAULT_GROUP_OVERHEAD_TOKENS,
) -> LayoutMeasurement:
    """`instances` runtimes of the artifact, each on its own thread calling it back to back on
    `feeds` (one batch, or batches taken in turn; token batches grouped by length as `model.py`
    does), for `seconds`."""
    parameters = {"jepa.intra_op_threads": str(threads)}
    runtimes = [load_runtime(artifact_dir, parameters) for _ in range(instances)]
    batches = [feeds] if isinstance(feeds, dict) else list(feeds)
    for runtime in runtimes:
        run_batch(runtime, list(output_names), batches[0], group_overhead_tokens)  # warm-up: allocations, kernel choices
    done = [0] * instances
    deadline = time.perf_counter() + seconds

    def work(index: int) -> None:
        for batch in itertools.cycle(batches):
            if time.perf_counter() >= deadline:
                return
            run_batch(runtimes[index], list(output_names), batch, group_overhead_tokens)
            done[index] += next(iter(batch.values())).shape[0]

    started, cpu_started = time.perf_counter(), time.process_time()
    workers = [threading.Thread(target=work, args=(index,)) for index in range(instances)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    return LayoutMeasurement(items_per_s=round(sum(done) / elapsed, 3), cpu_ms_per_item=round(1000 * cpu / max(sum(done), 1), 3))


def choose_serving(
    artifact_dir: Path,
    runtimes: Sequence[RuntimeSpec],
    output_names: Sequence[str],
    feeds: Feeds,
    scratch: Path,
    seconds: float,
    cores: int | None = None,
) -> ServingChoice:
    """Time every runtime x layout on `feeds`; the highest throughput wins, fewer instances on a
    tie within 3% (less memory, lower latency when idle)."""
    cores = cores or os.cpu_count() or 1
    candidates = []
    for index, runtime in enumerate(runtimes):
        folder = scratch / f"runtime-{index}"
        link_graph(artifact_dir / "model.onnx", folder)
        write_runtime(folder, runtime)
        for instances, threads in layouts(cores):
            measured = measure_layout(folder, output_names, feeds, instances, threads, seconds)
            candidates.append(ServingCandidate(runtime=runtime, instance_count=instances, intra_op_threads=threads, **measured.model_dump()))
    shutil.rmtree(scratch)
    best = max(candidate.items_per_s for candidate in candidates)
    chosen = min(
        (candidate for candidate in candidates if candidate.items_per_s >= 0.97 * best),
        key=lambda candidate: (candidate.instance_count, -candidate.items_per_s),
    )
    return ServingChoice(chosen=chosen, candidates=candidates, batch_size=next(iter(feeds.values())).shape[0], seconds_per_candidate=seconds)

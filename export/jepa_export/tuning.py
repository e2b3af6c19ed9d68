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

import os
import statistics
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from pydantic import BaseModel

from jepa_export.precision import link_graph, write_runtime
from jepa_export.repository import RuntimeSpec
from jepa_export.triton_python_model import load_runtime

Feeds = dict[str, np.ndarray]


class GraphCandidate(BaseModel):
    """One graph recipe: what the optimizer fused, whether it matched PyTorch, and its speed;
    `error` when the exporter could not trace the model this way."""

    recipe: str
    fused_ops: dict[str, int] = {}
    passed: bool
    ms_per_item: float | None = None
    error: str | None = None


class ServingCandidate(BaseModel):
    runtime: RuntimeSpec
    instance_count: int
    intra_op_threads: int
    items_per_s: float


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


def _throughput(artifact_dir: Path, output_names: Sequence[str], feeds: Feeds, instances: int, threads: int, seconds: float) -> float:
    parameters = {"jepa.intra_op_threads": str(threads)}
    runtimes = [load_runtime(artifact_dir, parameters) for _ in range(instances)]
    items = next(iter(feeds.values())).shape[0]
    for runtime in runtimes:
        runtime.run(list(output_names), feeds)  # warm-up: allocations, kernel choices
    done = [0] * instances
    deadline = time.perf_counter() + seconds

    def work(index: int) -> None:
        while time.perf_counter() < deadline:
            runtimes[index].run(list(output_names), feeds)
            done[index] += items

    started = time.perf_counter()
    workers = [threading.Thread(target=work, args=(index,)) for index in range(instances)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return round(sum(done) / (time.perf_counter() - started), 3)


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
            rate = _throughput(folder, output_names, feeds, instances, threads, seconds)
            candidates.append(ServingCandidate(runtime=runtime, instance_count=instances, intra_op_threads=threads, items_per_s=rate))
    best = max(candidate.items_per_s for candidate in candidates)
    chosen = min(
        (candidate for candidate in candidates if candidate.items_per_s >= 0.97 * best),
        key=lambda candidate: (candidate.instance_count, -candidate.items_per_s),
    )
    return ServingChoice(chosen=chosen, candidates=candidates, batch_size=next(iter(feeds.values())).shape[0], seconds_per_candidate=seconds)

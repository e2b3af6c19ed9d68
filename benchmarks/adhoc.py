"""`python -m benchmarks load`: the load generator against one model of any exported repository,
closed-loop over a concurrency sweep and open-loop at fixed rates, gateway and Triton measured."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from benchmarks.calls import embed_text_call, embed_video_call, gateway_client
from benchmarks.context import StudyContext
from benchmarks.loadgen import LoadPoint, Call, CpuMeter, open_loop, sweep
from benchmarks.models import client_frames, model_parameters
from benchmarks.processes import OwnProcessMeter
from benchmarks.results import Cell, Plot, PlotSeries, Table
from benchmarks.workloads import sentences

_ROLES = {"text": ("text_encoder",), "video": ("video_encoder", "video_pipeline")}


class AdHocLoad(BaseModel):
    study: str
    repository: Path
    rpc: Literal["text", "video"]
    model: str = ""
    concurrency: list[int]
    rates: list[float]
    duration_s: float
    warmup_s: float
    texts_per_request: int = 1


def _model_dir(load: AdHocLoad) -> Path:
    if load.model:
        return load.repository / load.model
    for folder in sorted(load.repository.iterdir()):
        if (folder / "config.pbtxt").is_file() and model_parameters(folder).get("jepa.role") in _ROLES[load.rpc]:
            return folder
    raise FileNotFoundError(f"repository: no {load.rpc} model in {load.repository}")


def _row(point: LoadPoint) -> list[Cell]:
    load = f"c={point.concurrency}" if point.mode == "closed" else f"{point.target_rate_rps:g} req/s"
    return [point.mode, load, point.throughput_rps, point.items_per_s, point.latency.p50_ms, point.latency.p95_ms, point.latency.p99_ms,
            sum(point.errors.values()), point.cpu_ms_per_item.get("gateway", 0.0), point.cpu_ms_per_item.get("triton", 0.0), point.load_average_1m]


async def _measure(context: StudyContext, load: AdHocLoad, model_dir: Path) -> tuple[list[LoadPoint], dict[str, float]]:
    with context.stack(load.repository, load.study) as stack:
        meters: dict[str, CpuMeter] = {**stack.meters, "client": OwnProcessMeter()}
        async with gateway_client(stack.gateway_address) as client:
            call: Call
            if load.rpc == "text":
                call = embed_text_call(client, sentences(512), load.texts_per_request, model_dir.name)
            else:
                call = embed_video_call(client, client_frames(model_dir), model_dir.name)
            points = await sweep(call, load.rpc, load.concurrency, load.duration_s, load.warmup_s, meters)
            for rate in load.rates:
                points.append((await open_loop(call, rate, load.duration_s, load.warmup_s, meters)).point(load.rpc, "open", 0, rate))
        return points, stack.peak_rss_mib()


def run_adhoc(context: StudyContext, load: AdHocLoad) -> Path:
    model_dir = _model_dir(load)
    result = context.new_result(load.study, f"Load: {load.rpc} on {model_dir.name}", f"Throughput and latency of {load.rpc} requests to {model_dir.name} by load.")
    points, result.peak_rss_mib = asyncio.run(_measure(context, load, model_dir))
    result.settings = load.model_dump(mode="json")
    result.tables.append(Table(
        title=f"{load.rpc}, {model_dir.name}",
        columns=["mode", "load", "req/s", "items/s", "p50 ms", "p95 ms", "p99 ms", "errors", "gateway CPU ms/item", "triton CPU ms/item", "load avg"],
        rows=[_row(point) for point in points],
    ))
    closed = [point for point in points if point.mode == "closed"]
    if closed:
        result.plots += [
            Plot(title="throughput", kind="line", x_label="concurrency", y_label="items/s", log_x=True,
                 series=[PlotSeries(name=model_dir.name, x=[p.concurrency for p in closed], y=[p.items_per_s for p in closed])]),
            Plot(title="latency", kind="line", x_label="concurrency", y_label="ms", log_x=True,
                 series=[PlotSeries(name=q, x=[p.concurrency for p in closed], y=[getattr(p.latency, f"{q}_ms") for p in closed]) for q in ("p50", "p99")]),
        ]
    result.measurements["points"] = [point.model_dump() for point in points]
    return context.finish(result)

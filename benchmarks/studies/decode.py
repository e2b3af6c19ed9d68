"""Study 4: decode + preprocess of one clip. Our path (`prepare_video`: FFmpeg's scaler straight
from the decoder's YUV frames, threaded decode, one vectorised normalisation) against what a
user would write: PyAV decode -> PIL image -> PIL resize -> numpy crop and normalise. Both
produce the same (T, 3, S, S) float32 window; the two are timed alternately, per clip."""

from __future__ import annotations

import io
import statistics
import time
from pathlib import Path

import av
import numpy as np
from PIL import Image

from benchmarks.context import StudyContext
from benchmarks.results import Cell, Goal, Plot, PlotSeries, Table
from benchmarks.workloads import h264_file
from jepa_server.media.video import ClipGeometry, DecodeLimits, SamplingPlan, prepare_video

GEOMETRY = ClipGeometry(frames_per_clip=16, crop_size=224, resize_short_side=256)


def ours(encoded: bytes) -> np.ndarray:
    plan = SamplingPlan(frames_per_clip=GEOMETRY.frames_per_clip, max_windows=1)
    return prepare_video(encoded, GEOMETRY, plan, DecodeLimits()).pixel_values[0]


def straightforward(encoded: bytes) -> np.ndarray:
    """The PyAV -> PIL -> numpy recipe of the V-JEPA 2 processor, written the obvious way."""
    frames = []
    with av.open(io.BytesIO(encoded), mode="r") as container:
        for frame in container.decode(video=0):
            image = frame.to_image()
            scale = GEOMETRY.resize_short_side / min(image.size)
            image = image.resize((round(image.width * scale), round(image.height * scale)), Image.Resampling.BILINEAR)
            left, top = (image.width - GEOMETRY.crop_size) // 2, (image.height - GEOMETRY.crop_size) // 2
            frames.append(np.asarray(image.crop((left, top, left + GEOMETRY.crop_size, top + GEOMETRY.crop_size))))
            if len(frames) == GEOMETRY.frames_per_clip:
                break
    pixels = np.stack(frames).astype(np.float32) / 255.0
    pixels = (pixels - np.array(GEOMETRY.image_mean, np.float32)) / np.array(GEOMETRY.image_std, np.float32)
    return pixels.transpose(0, 3, 1, 2)


def _time(function, encoded: bytes) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    function(encoded)
    return time.perf_counter() - wall, time.process_time() - cpu


def run(context: StudyContext) -> Path:
    settings = context.settings
    result = context.new_result(
        "decode", "Decode + preprocess, one clip",
        f"How fast does the gateway turn h264 into a model-ready window ({GEOMETRY.frames_per_clip} frames, {GEOMETRY.crop_size} px) compared with PyAV -> PIL -> numpy?",
    )
    rows: list[list[Cell]]
    series: dict[str, list[float]]
    rows, ratios, series = [], {}, {"ours": [], "straightforward": []}
    paths = {"ours": ours, "straightforward": straightforward}
    for height, width in settings.decode_resolutions:
        label = f"{height}p"
        encoded = h264_file(context.scratch("media") / f"clip_{height}p.mp4", height, width, 2 * GEOMETRY.frames_per_clip).read_bytes()
        difference = float(np.abs(ours(encoded) - straightforward(encoded)).mean())
        timings: dict[str, list[tuple[float, float]]] = {name: [] for name in paths}
        for _ in range(settings.decode_repeats):
            for name, function in paths.items():
                timings[name].append(_time(function, encoded))
        medians = {name: statistics.median(wall for wall, _ in values) * 1000 for name, values in timings.items()}
        cpu = {name: statistics.median(c for _, c in values) * 1000 for name, values in timings.items()}
        ratios[label] = round(medians["straightforward"] / medians["ours"], 2)
        for name in paths:
            series[name].append(medians[name])
            rows.append([label, name, round(medians[name], 1), round(min(w for w, _ in timings[name]) * 1000, 1),
                         round(max(w for w, _ in timings[name]) * 1000, 1), round(cpu[name], 1), ratios[label] if name == "ours" else None])
        result.measurements[label] = {"mean_abs_pixel_difference": round(difference, 4), **{name: timings[name] for name in paths}}
        result.notes.append(f"{label}: mean |difference| between the two paths' normalised pixels = {difference:.3f} (scalers differ, content agrees)")
        result.goals.append(Goal(name=f"decode + preprocess, {label}", statement=f"decode + preprocess ≥ 2× the straightforward path ({label} h264)",
                                 measured=ratios[label], threshold=2.0))
    labels: list[float | str] = [f"{height}p" for height, _ in settings.decode_resolutions]
    result.tables.append(Table(
        title=f"ms per clip ({settings.decode_repeats} runs each, alternating)",
        columns=["input", "path", "median ms", "min ms", "max ms", "CPU ms (median)", "speed-up"], rows=rows,
    ))
    result.plots.append(Plot(title="ms per clip (median)", kind="bar", x_label="input", y_label="ms per clip",
                             series=[PlotSeries(name=name, x=labels, y=values) for name, values in series.items()]))
    return context.finish(result)

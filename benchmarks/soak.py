"""Soak test: a fixed request rate for a bounded time; errors, latency drift and memory growth.

    python -m benchmarks.soak --repository artifacts/repository/cpu --duration 600 --rate 10 --results-md benchmarks/RESULTS.md
    python -m benchmarks.soak --address 127.0.0.1:50051 --duration 20 --window 5 --gateway-pid 1234
    python -m benchmarks.soak --render benchmarks/results/soak.json --results-md benchmarks/RESULTS.md

Open loop: request i is sent at start + i/rate whatever the server does, and its latency counts
from that scheduled time, so a server that falls behind shows it. The mix alternates text calls
(one sentence) and video calls (a 2-second mp4, decoded by the gateway). Every `window_s` the
report gets p50/p99 and errors; resident memory of the gateway and Triton (each with its child
processes) is sampled every `rss_interval_s`. With `--repository` the script starts
`jepa-serve up` itself and drains it with SIGTERM at the end. The report goes to
`benchmarks/results/soak.json` and, with `--results-md`, to the "Soak" section of RESULTS.md
(only that section is rewritten). Exit status 1 on any error.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import av
import numpy as np
import psutil

from benchmarks.results_markdown import RESULTS_MD, update_section
from jepa_client import AsyncClient, ClientOptions, JepaError, RetryPolicy

TRITON_PROCESS_NAMES = ("tritonserver", "triton_python_backend_stub")
DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "soak.json"
MIB = 1 << 20


def sample_video(num_frames: int = 16, fps: int = 8, height: int = 96, width: int = 128) -> bytes:
    """A small h264 mp4 with motion (a bar crossing a noisy background)."""
    rng = np.random.default_rng(0)
    background = rng.integers(0, 80, size=(height, width, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as container:
        stream = container.add_stream("h264", rate=fps)
        stream.height, stream.width, stream.pix_fmt = height, width, "yuv420p"
        for index in range(num_frames):
            image = background.copy()
            image[:, (index * 7) % (width - 16) :][:, :16] = 220
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return buffer.getvalue()


@dataclass
class Outcome:
    scheduled_s: float  # since the start of the run
    kind: str
    latency_s: float
    code: str  # "OK" or the gRPC status name


@dataclass
class RssSeries:
    samples_mib: list[tuple[float, float]] = field(default_factory=list)

    def summary(self) -> dict[str, float]:
        values = [value for _, value in self.samples_mib]
        if not values:
            return {}
        return {
            "first_mib": round(values[0], 1),
            "last_mib": round(values[-1], 1),
            "max_mib": round(max(values), 1),
            "growth_mib": round(values[-1] - values[0], 1),
            "growth_pct": round(100 * (values[-1] - values[0]) / values[0], 1),
        }


def tree_rss_mib(processes: list[psutil.Process]) -> float:
    total = 0
    for process in processes:
        try:
            total += process.memory_info().rss
        except psutil.Error:
            continue
    return total / MIB


def split_trees(gateway_pid: int | None, triton_pid: int | None) -> tuple[list[psutil.Process], list[psutil.Process]]:
    """(gateway tree, Triton tree). Triton found inside the gateway's tree (`jepa-serve up`) is
    counted apart by process name."""

    def tree(pid: int | None) -> list[psutil.Process]:
        if pid is None:
            return []
        try:
            root = psutil.Process(pid)
            return [root, *root.children(recursive=True)]
        except psutil.Error:
            return []

    gateway = [p for p in tree(gateway_pid) if p.name() not in TRITON_PROCESS_NAMES]
    triton = tree(triton_pid) or [p for p in tree(gateway_pid) if p.name() in TRITON_PROCESS_NAMES]
    return gateway, triton


async def sample_rss(gateway_pid: int | None, triton_pid: int | None, interval_s: float, series: dict[str, RssSeries], start: float) -> None:
    while True:
        gateway, triton = split_trees(gateway_pid, triton_pid)
        now = time.monotonic() - start
        if gateway:
            series["gateway"].samples_mib.append((now, tree_rss_mib(gateway)))
        if triton:
            series["triton"].samples_mib.append((now, tree_rss_mib(triton)))
        await asyncio.sleep(interval_s)


async def one_call(client: AsyncClient, kind: str, video: bytes, scheduled: float, start: float) -> Outcome:
    await asyncio.sleep(max(0.0, start + scheduled - time.monotonic()))
    code = "OK"
    try:
        if kind == "video":
            await client.embed_video(video)
        else:
            await client.embed_text([f"soak sentence number {int(scheduled * 1000)}"])
    except JepaError as error:
        code = error.code.name
    return Outcome(scheduled, kind, time.monotonic() - start - scheduled, code)


def window_report(outcomes: list[Outcome], window_s: float, duration_s: float) -> list[dict]:
    windows = []
    for index in range(max(1, int(np.ceil(duration_s / window_s)))):
        inside = [o for o in outcomes if index * window_s <= o.scheduled_s < (index + 1) * window_s]
        latencies = np.array([o.latency_s for o in inside if o.code == "OK"]) * 1000
        windows.append({
            "start_s": index * window_s,
            "requests": len(inside),
            "errors": sum(o.code != "OK" for o in inside),
            "p50_ms": round(float(np.percentile(latencies, 50)), 2) if len(latencies) else None,
            "p99_ms": round(float(np.percentile(latencies, 99)), 2) if len(latencies) else None,
        })
    return windows


async def soak(address: str, args: argparse.Namespace, gateway_pid: int | None, triton_pid: int | None) -> dict:
    video = sample_video()
    options = ClientOptions(address=address, timeout=args.deadline, retry=RetryPolicy(max_retries=0))
    series = {"gateway": RssSeries(), "triton": RssSeries()}
    async with AsyncClient(options) as client:
        await client.embed_text(["warm-up"])  # the channel is connected before the clock starts
        start = time.monotonic()
        sampler = asyncio.create_task(sample_rss(gateway_pid, triton_pid, args.rss_interval, series, start))
        total = int(args.duration * args.rate)
        # Video calls spread evenly: call i is a video when floor((i + 1) * f) > floor(i * f).
        kinds = ["video" if int((i + 1) * args.video_fraction) > int(i * args.video_fraction) else "text" for i in range(total)]
        outcomes = await asyncio.gather(*(one_call(client, kinds[i], video, i / args.rate, start) for i in range(total)))
        elapsed = time.monotonic() - start
        sampler.cancel()
    errors: dict[str, int] = {}
    for outcome in outcomes:
        if outcome.code != "OK":
            errors[outcome.code] = errors.get(outcome.code, 0) + 1
    windows = window_report(list(outcomes), args.window, args.duration)
    p99s = [w["p99_ms"] for w in windows if w["p99_ms"] is not None]
    ok = np.array([o.latency_s for o in outcomes if o.code == "OK"]) * 1000
    return {
        "command": shlex.join(sys.orig_argv),
        "address": address,
        "duration_s": args.duration,
        "rate_rps": args.rate,
        "video_fraction": args.video_fraction,
        "deadline_s": args.deadline,
        "elapsed_s": round(elapsed, 1),
        "requests": len(outcomes),
        "by_kind": {kind: sum(o.kind == kind for o in outcomes) for kind in ("text", "video")},
        "errors": errors,
        "error_count": sum(errors.values()),
        "p50_ms": round(float(np.percentile(ok, 50)), 2) if len(ok) else None,
        "p99_ms": round(float(np.percentile(ok, 99)), 2) if len(ok) else None,
        "windows": windows,
        # Last window's p99 over the first's: above 1 means latency grew during the run.
        "p99_drift": round(p99s[-1] / p99s[0], 2) if len(p99s) >= 2 and p99s[0] else None,
        "rss": {name: s.summary() for name, s in series.items()},
        "rss_samples_mib": {name: [(round(t, 1), round(v, 1)) for t, v in s.samples_mib] for name, s in series.items()},
        "cpu_count": os.cpu_count(),
        "load_average_1m": round(os.getloadavg()[0], 2),
    }


def start_stack(repository: Path, workdir: Path) -> tuple[subprocess.Popen, str]:
    """`jepa-serve up` on free ports; returns the process and the gateway address once it serves."""
    environment = {**os.environ, "JEPA_INDEX_URI": str(workdir / "index.db"), "JEPA_DECODE_WORKERS": "1"}
    command = [sys.executable, "-m", "jepa_server.cli", "up", "--repository", str(repository), "--port", "0", "--metrics-port", "0"]
    with open(workdir / "stack.log", "wb") as log:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log, env=environment, text=True)
    assert process.stdout is not None
    for line in process.stdout:
        if match := re.search(r"gateway on ([\d.]+):(\d+)", line):
            return process, f"{match[1]}:{match[2]}"
    raise RuntimeError(f"jepa-serve up exited with {process.wait()}; see {workdir / 'stack.log'}")


async def wait_until_serving(address: str, timeout_s: float = 180.0) -> None:
    deadline = time.monotonic() + timeout_s
    options = ClientOptions(address=address, timeout=5.0, retry=RetryPolicy(max_retries=0))
    async with AsyncClient(options) as client:
        while True:
            try:
                if await client.list_models():  # empty until every model answered its warm-up
                    return
            except JepaError:
                if time.monotonic() > deadline:
                    raise
            await asyncio.sleep(0.5)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--address", help="a running gateway, host:port")
    target.add_argument("--repository", type=Path, help="start `jepa-serve up` on this exported repository")
    target.add_argument("--render", type=Path, metavar="REPORT", help="no load: only write the section of an existing report to --results-md")
    parser.add_argument("--duration", type=float, default=600.0, help="seconds of load (default 600)")
    parser.add_argument("--rate", type=float, default=10.0, help="requests per second (default 10)")
    parser.add_argument("--video-fraction", type=float, default=0.5, help="share of video calls (default 0.5)")
    parser.add_argument("--deadline", type=float, default=10.0, help="deadline of each call in seconds")
    parser.add_argument("--window", type=float, default=60.0, help="seconds per report window (default 60)")
    parser.add_argument("--rss-interval", type=float, default=5.0, help="seconds between memory samples")
    parser.add_argument("--gateway-pid", type=int, help="with --address: the gateway process to watch")
    parser.add_argument("--triton-pid", type=int, help="with --address: the tritonserver process to watch")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"report file (default {DEFAULT_OUT})")
    parser.add_argument("--results-md", type=Path, help="also write the report's 'Soak' section into this RESULTS.md")
    return parser.parse_args(argv)




def render_markdown(report: dict) -> str:
    """The "Soak" section of RESULTS.md, generated from a report."""
    lines = [
        "## Soak", "",
        f"Open-loop load at {report['rate_rps']:g} requests/s for {report['duration_s']:g} s "
        f"({report['by_kind']['text']} text calls, {report['by_kind']['video']} video calls of a 2 s mp4), "
        f"deadline {report['deadline_s']:g} s per call, latency counted from each call's scheduled start.",
        "", f"- command: `{report['command']}`",
        f"- machine: {report['cpu_count']} CPUs shared with other jobs; load average (1 min) at the end {report['load_average_1m']}",
        f"- **errors: {report['error_count']}**" + (f" {report['errors']}" if report["errors"] else ""),
        f"- latency: p50 {report['p50_ms']} ms, p99 {report['p99_ms']} ms; p99 drift (last window / first) {report['p99_drift']}",
    ]
    for name, rss in report["rss"].items():
        if rss:
            lines.append(f"- {name} RSS (with its child processes): {rss['first_mib']} MiB at the start, {rss['last_mib']} MiB at the end, "
                         f"max {rss['max_mib']} MiB (growth {rss['growth_mib']} MiB, {rss['growth_pct']}%)")
    lines += ["", "| window start (s) | requests | errors | p50 (ms) | p99 (ms) |", "|---|---|---|---|---|"]
    lines += [f"| {w['start_s']:.0f} | {w['requests']} | {w['errors']} | {w['p50_ms']} | {w['p99_ms']} |" for w in report["windows"]]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.render is not None:
        update_section(args.results_md or RESULTS_MD, "soak", render_markdown(json.loads(args.render.read_text())))
        return 0
    with tempfile.TemporaryDirectory(prefix="jepa-soak-") as workdir:
        stack = None
        address, gateway_pid, triton_pid = args.address, args.gateway_pid, args.triton_pid
        if args.repository is not None:
            stack, address = start_stack(args.repository, Path(workdir))
            gateway_pid = stack.pid
        try:
            asyncio.run(wait_until_serving(address))
            report = asyncio.run(soak(address, args, gateway_pid, triton_pid))
        finally:
            if stack is not None:
                stack.send_signal(signal.SIGTERM)
                stack.wait(60)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    section = render_markdown(report)
    print(section)
    if args.results_md is not None:
        update_section(args.results_md, "soak", section)
    return 1 if report["error_count"] else 0


if __name__ == "__main__":
    sys.exit(main())

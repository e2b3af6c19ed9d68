"""Asyncio load generator: closed-loop (N callers, each waiting for its answer) and open-loop
(a fixed arrival rate, latency counted from the scheduled start so a slow server cannot hide
its queue: no coordinated omission). Latencies go into an HDR histogram.

A `Call` is any coroutine factory that sends one request and returns how many items (clips,
texts) it embedded; the generator knows nothing about gRPC, so the gateway, Triton and
in-process code are all measured the same way.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Literal, Protocol

from hdrh.histogram import HdrHistogram
from pydantic import BaseModel

from benchmarks.results import load_average

Call = Callable[[], Awaitable[int]]
_MAX_LATENCY_US = 600_000_000
_SIGNIFICANT_DIGITS = 3


class CpuMeter(Protocol):
    def cpu_seconds(self) -> float: ...


class LatencySummary(BaseModel):
    count: int
    mean_ms: float
    p50_ms: float
    p90_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float


class LoadPoint(BaseModel):
    """One measured operating point: a concurrency (closed loop) or an arrival rate (open loop)."""

    label: str
    mode: Literal["closed", "open"]
    concurrency: int
    target_rate_rps: float | None = None
    duration_s: float
    requests: int
    items: int
    errors: dict[str, int]
    throughput_rps: float
    items_per_s: float
    latency: LatencySummary
    # CPU seconds each measured process spent inside the window(s), and per embedded item.
    cpu_s: dict[str, float]
    cpu_ms_per_item: dict[str, float]
    load_average_1m: float


def _error_name(error: BaseException) -> str:
    code = getattr(error, "code", None)
    if callable(code):
        try:
            return f"{type(error).__name__}:{code()}"
        except Exception:  # noqa: BLE001 - a code() that fails still leaves the type name
            pass
    return type(error).__name__


class Tally:
    """Latencies, counts, errors and CPU of one or more measuring windows; windows of the same
    configuration (e.g. interleaved rounds) merge into one point."""

    def __init__(self) -> None:
        self.histogram = HdrHistogram(1, _MAX_LATENCY_US, _SIGNIFICANT_DIGITS)
        self.requests = 0
        self.items = 0
        self.errors: Counter[str] = Counter()
        self.seconds = 0.0
        self.cpu: Counter[str] = Counter()
        self.load_samples: list[float] = []

    def record(self, latency_s: float, items: int) -> None:
        self.histogram.record_value(min(_MAX_LATENCY_US, max(1, round(latency_s * 1e6))))
        self.requests += 1
        self.items += items

    def merge(self, other: Tally) -> Tally:
        self.histogram.add(other.histogram)
        self.requests += other.requests
        self.items += other.items
        self.errors.update(other.errors)
        self.seconds += other.seconds
        self.cpu.update(other.cpu)
        self.load_samples += other.load_samples
        return self

    def merge_all(self, others: Iterable[Tally]) -> Tally:
        for other in others:
            self.merge(other)
        return self

    def point(self, label: str, mode: Literal["closed", "open"], concurrency: int, target_rate_rps: float | None = None) -> LoadPoint:
        histogram = self.histogram
        count = histogram.get_total_count()

        def ms(value_us: float) -> float:
            return round(value_us / 1000, 3) if count else 0.0

        seconds = max(self.seconds, 1e-9)
        return LoadPoint(
            label=label,
            mode=mode,
            concurrency=concurrency,
            target_rate_rps=target_rate_rps,
            duration_s=round(self.seconds, 3),
            requests=self.requests,
            items=self.items,
            errors=dict(self.errors),
            throughput_rps=round(self.requests / seconds, 3),
            items_per_s=round(self.items / seconds, 3),
            latency=LatencySummary(
                count=count,
                mean_ms=ms(histogram.get_mean_value()),
                p50_ms=ms(histogram.get_value_at_percentile(50)),
                p90_ms=ms(histogram.get_value_at_percentile(90)),
                p95_ms=ms(histogram.get_value_at_percentile(95)),
                p99_ms=ms(histogram.get_value_at_percentile(99)),
                max_ms=ms(histogram.get_max_value()),
            ),
            cpu_s={name: round(value, 3) for name, value in self.cpu.items()},
            cpu_ms_per_item={name: round(1000 * value / max(self.items, 1), 3) for name, value in self.cpu.items()},
            load_average_1m=round(sum(self.load_samples) / max(len(self.load_samples), 1), 2),
        )


def _cpu_snapshot(meters: Mapping[str, CpuMeter]) -> dict[str, float]:
    return {name: meter.cpu_seconds() for name, meter in meters.items()}


def _add_cpu(tally: Tally, before: dict[str, float], after: dict[str, float]) -> None:
    for name in before:
        tally.cpu[name] += after[name] - before[name]  # type: ignore[assignment]  # Counter values may be any number (CPU seconds here); typeshed types them as int


async def closed_loop(
    call: Call, concurrency: int, duration_s: float, warmup_s: float, meters: Mapping[str, CpuMeter] | None = None
) -> Tally:
    """`concurrency` callers send back-to-back requests; answers that arrive inside the window
    (after `warmup_s`, for `duration_s`) count. Callers still waiting at the end are cancelled."""
    if concurrency < 1:
        raise ValueError(f"concurrency: got {concurrency}, need at least 1")
    meters = meters or {}
    tally = Tally()
    loop = asyncio.get_running_loop()
    window_start = loop.time() + warmup_s
    window_end = window_start + duration_s

    async def caller() -> None:
        while loop.time() < window_end:
            began = loop.time()
            try:
                items = await call()
            except Exception as error:  # noqa: BLE001 - every failure is counted, none stops the run
                if window_start <= loop.time() <= window_end:
                    tally.errors[_error_name(error)] += 1
                continue
            ended = loop.time()
            if window_start <= ended <= window_end:
                tally.record(ended - began, items)

    callers = [asyncio.create_task(caller()) for _ in range(concurrency)]
    try:
        await asyncio.sleep(max(0.0, window_start - loop.time()))
        before = _cpu_snapshot(meters)
        await asyncio.sleep(max(0.0, window_end - loop.time()))
        _add_cpu(tally, before, _cpu_snapshot(meters))
    finally:
        for task in callers:
            task.cancel()
        await asyncio.gather(*callers, return_exceptions=True)
    tally.seconds = duration_s
    tally.load_samples.append(load_average()[0])
    return tally


async def open_loop(
    call: Call,
    rate_rps: float,
    duration_s: float,
    warmup_s: float,
    meters: Mapping[str, CpuMeter] | None = None,
    max_in_flight: int = 1024,
    drain_s: float = 30.0,
) -> Tally:
    """Requests start every 1/rate seconds whatever the server does; latency runs from the
    scheduled start. Requests over `max_in_flight` are not sent and count as errors."""
    if rate_rps <= 0:
        raise ValueError(f"rate_rps: got {rate_rps}, need > 0")
    meters = meters or {}
    tally = Tally()
    loop = asyncio.get_running_loop()
    start = loop.time()
    window_start = start + warmup_s
    window_end = window_start + duration_s
    in_flight: set[asyncio.Task[None]] = set()
    before: dict[str, float] | None = None

    async def one(scheduled: float, counted: bool) -> None:
        try:
            items = await call()
        except Exception as error:  # noqa: BLE001 - counted
            if counted:
                tally.errors[_error_name(error)] += 1
            return
        if counted:
            tally.record(loop.time() - scheduled, items)

    index = 0
    while (scheduled := start + index / rate_rps) < window_end:
        index += 1
        await asyncio.sleep(max(0.0, scheduled - loop.time()))
        counted = scheduled >= window_start
        if counted and before is None:
            before = _cpu_snapshot(meters)
        if len(in_flight) >= max_in_flight:
            if counted:
                tally.errors["client:max_in_flight"] += 1
            continue
        task = asyncio.create_task(one(scheduled, counted))
        in_flight.add(task)
        task.add_done_callback(in_flight.discard)
    after = _cpu_snapshot(meters)
    if in_flight:
        _, unfinished = await asyncio.wait(set(in_flight), timeout=drain_s)
        if unfinished:
            tally.errors["client:unfinished_after_drain"] += len(unfinished)
            for task in unfinished:
                task.cancel()
            await asyncio.gather(*unfinished, return_exceptions=True)
    _add_cpu(tally, before or after, after)
    tally.seconds = duration_s
    tally.load_samples.append(load_average()[0])
    return tally


async def sweep(
    call: Call, label: str, concurrencies: list[int], duration_s: float, warmup_s: float, meters: Mapping[str, CpuMeter] | None = None
) -> list[LoadPoint]:
    """The closed-loop concurrency sweep: one point per concurrency, in order."""
    return [(await closed_loop(call, concurrency, duration_s, warmup_s, meters)).point(label, "closed", concurrency) for concurrency in concurrencies]

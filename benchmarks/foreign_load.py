"""How busy the machine was with work that is not ours while a study ran.

A ratio measured while something else competes for the 2 cores says little, so every study
records the foreign load: the CPU the whole machine spent (from /proc/stat) minus what this
process and all its children (load generator, Triton and its stubs, the gateway, the eager
worker) spent, in cores, averaged over the study. The load average minus our CPU rate, the
proxy the issue names, is kept beside it; it lags by a minute and counts waiting tasks too.
"""

from __future__ import annotations

import os
import time

from pydantic import BaseModel

from benchmarks.processes import ProcessTreeMeter

_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _busy_cpu_seconds() -> float:
    """CPU seconds the whole machine has spent not idle (user, nice, system, irq, softirq, steal)."""
    with open("/proc/stat") as stat:
        fields = [int(value) for value in stat.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    guest = sum(fields[8:10]) if len(fields) > 9 else 0  # already counted in user / nice
    return (sum(fields) - idle - guest) / _CLOCK_TICKS


class ForeignLoad(BaseModel):
    seconds: float
    # Cores' worth of CPU used by others (machine busy minus ours), averaged over the window.
    foreign_load: float
    our_cores: float
    machine_cores: float
    load_average_minus_ours: float


class ForeignLoadMeter:
    """Started when a study starts; `read()` when it ends."""

    def __init__(self) -> None:
        self._ours = ProcessTreeMeter(os.getpid(), sample_interval_s=0.5)
        self._started = time.monotonic()
        self._busy = _busy_cpu_seconds()
        self._our_cpu = self._ours.cpu_seconds()
        self._load_samples: list[float] = []

    def sample_load_average(self) -> None:
        self._load_samples.append(os.getloadavg()[0])

    def read(self) -> ForeignLoad:
        self.sample_load_average()
        seconds = max(time.monotonic() - self._started, 1e-9)
        ours = (self._ours.cpu_seconds() - self._our_cpu) / seconds
        machine = (_busy_cpu_seconds() - self._busy) / seconds
        self._ours.close()
        load_average = sum(self._load_samples) / len(self._load_samples)
        return ForeignLoad(
            seconds=round(seconds, 1),
            foreign_load=round(max(0.0, machine - ours), 3),
            our_cores=round(ours, 3),
            machine_cores=round(machine, 3),
            load_average_minus_ours=round(load_average - ours, 2),
        )

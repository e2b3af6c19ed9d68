"""The measuring method itself: goals from interleaved rounds, and the load that is not ours."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest

from benchmarks.foreign_load import ForeignLoadMeter
from benchmarks.results import MAX_FOREIGN_LOAD, Goal


def test_a_goal_is_the_median_of_its_rounds_and_met_only_when_quiet_and_steady():
    goal = Goal.from_rounds([2.1, 1.9, 2.4], name="g", statement="s", threshold=2.0, foreign_load=0.1)
    assert goal.measured == 2.1 and goal.spread == pytest.approx(0.5 / 2.1) and goal.verdict == "met"
    missed = Goal.from_rounds([1.5, 1.6, 1.55], name="g", statement="s", threshold=2.0, foreign_load=0.1)
    assert missed.verdict.startswith("missed by 22%")
    busy = goal.model_copy(update={"foreign_load": MAX_FOREIGN_LOAD + 0.1})
    assert not busy.met and busy.verdict.startswith("noisy")
    spread = Goal.from_rounds([1.0, 2.2, 3.0], name="g", statement="s", threshold=2.0, foreign_load=0.0)
    assert spread.measured == 2.2 and not spread.met and spread.verdict.startswith("noisy (spread 91%")
    single = Goal.from_rounds([5.0], name="g", statement="s", threshold=2.0, foreign_load=0.0)
    assert not single.met and single.verdict.startswith("not a verdict: 1 round")
    lower = Goal.from_rounds([1.1, 1.15, 1.12], name="g", statement="s", threshold=1.2, higher_is_better=False, foreign_load=0.0)
    assert lower.met


def _spin(seconds: float) -> None:
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        pass


def test_foreign_load_counts_a_stranger_process_but_not_our_own_work():
    meter = ForeignLoadMeter()
    _spin(1.5)
    ours = meter.read()
    assert ours.our_cores >= 0.6

    # A busy loop this process does not own (started by a shell that exits, so it is reparented),
    # ending by itself after 5 s.
    spin = "import time\nend = time.time() + 5\nwhile time.time() < end: pass"
    shell = subprocess.run(["bash", "-c", f"python3 -c '{spin}' >/dev/null 2>&1 & echo $!"], capture_output=True, text=True, check=True)
    stranger = int(shell.stdout.strip())
    try:
        meter = ForeignLoadMeter()
        time.sleep(2.0)
        foreign = meter.read()
    finally:
        os.kill(stranger, signal.SIGTERM)
    assert foreign.foreign_load >= ours.foreign_load + 0.5 and foreign.our_cores < 0.3

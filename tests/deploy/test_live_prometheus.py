"""A real Prometheus scrapes the real gateway and the local Triton during a short load: every
expression of the Grafana dashboard and of the alert rules returns at least one series, and the
scraped metrics pass `promtool check metrics`."""

from __future__ import annotations

import shutil
import subprocess
import time
from urllib.parse import urlparse

import pytest

from deploy import promql
from jepa_client import AnalyzeOptions, Client, IndexDiagnosis, InvalidArgumentError, TimeRange
from jepa_client.convert import IndexItem
from support.media import moving_bar_frames, write_video
from support.prometheus_text import scrape

pytestmark = pytest.mark.skipif(
    shutil.which("prometheus") is None or shutil.which("promtool") is None,
    reason="needs Debian's prometheus package (apt-get install prometheus); .ci/run installs it",
)


def _diagnose_with_drift(client: Client, video) -> None:
    """An AnalyzeIndex with two ingestion ranges: it sets the index-diagnostics gauges."""
    ids = [f"live-drift-{number}" for number in range(4)]
    client.index_videos([IndexItem(id=video_id, video=video) for video_id in ids[:2]])
    split = time.time()
    client.index_videos([IndexItem(id=video_id, video=video) for video_id in ids[2:]])
    drift = (TimeRange(0.0, split), TimeRange(split, 0.0))
    assert isinstance(list(client.analyze_index(AnalyzeOptions(captions=False, drift=drift)))[-1], IndexDiagnosis)
    client.delete_videos(ids)


def _load(client: Client, video, seconds: float) -> None:
    end = time.monotonic() + seconds
    _diagnose_with_drift(client, video)
    client.index_videos([IndexItem(id="live-video", video=video, metadata={"tag": "live"})])
    while time.monotonic() < end:
        client.embed_text(["a dog runs", "a cat sleeps", "cars on a road"])
        client.embed_video(video)
        client.search(video=video, top_k=3)
        client.list_models()
        with pytest.raises(InvalidArgumentError):
            client.embed_text([""])


def test_every_dashboard_and_alert_expression_returns_a_series(gateway, local_triton, tmp_path):
    video = write_video(tmp_path / "live.mp4", moving_bar_frames(24, seed=11))
    triton_target = urlparse(local_triton.metrics_url).netloc
    config = promql.write_local_config(
        tmp_path / "config", {"jepa-gateway": [f"127.0.0.1:{gateway.gateway.metrics_port}"], "triton": [triton_target]}
    )
    with promql.running_prometheus(config, tmp_path / "tsdb") as url, Client(gateway.address) as client:
        _load(client, video, seconds=6)
        deadline = time.monotonic() + 20  # scrapes and rule evaluations run on their own 1 s schedules
        while (missing := promql.expressions_without_series(url)) and time.monotonic() < deadline:
            time.sleep(1)
    assert [expression.source for expression in missing] == []


def test_gateway_metrics_pass_promtool_check_metrics(gateway):
    result = subprocess.run(
        ["promtool", "check", "metrics"], input=scrape(f"http://127.0.0.1:{gateway.gateway.metrics_port}/metrics"),
        capture_output=True, text=True, timeout=30,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_triton_metrics_parse_and_fail_only_promtools_naming_lint(local_triton):
    """Triton's names are NVIDIA's (counters without `_total`, `_us` units): promtool's naming lint
    flags them, which we cannot change; what must hold is that the exposition parses."""
    result = subprocess.run(["promtool", "check", "metrics"], input=scrape(local_triton.metrics_url), capture_output=True, text=True, timeout=30)
    problems = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    assert problems and all(line.startswith("nv_") for line in problems), problems
    assert not any("parsing error" in line for line in problems)

"""Benchmarks are not tests: these only keep the harness working (seconds, tiny model), by
running it the way `make bench` does and reading back what it wrote."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[2]


def _bench(*arguments: str, timeout_s: float = 240) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--nice", "0", *arguments], cwd=CHECKOUT, capture_output=True, text=True, timeout=timeout_s
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]


def _outputs(tmp_path: Path) -> list[str]:
    return ["--results-dir", str(tmp_path / "results"), "--cache-dir", str(tmp_path / "cache"), "--markdown", str(tmp_path / "RESULTS.md")]


def test_load_generator_writes_latency_throughput_cpu_and_memory_per_point(cpu_repository: Path, tmp_path: Path) -> None:
    _bench("load", "--repository", str(cpu_repository), "--rpc", "text", "--concurrency", "1", "2", "--rate", "20",
           "--duration", "1", "--warmup", "0.3", "--study", "smoke", *_outputs(tmp_path))

    result = json.loads((tmp_path / "results" / "smoke.json").read_text())
    assert {"study", "command", "machine", "created_at", "load_average_start", "load_average_end", "tables", "peak_rss_mib"} <= result.keys()
    assert result["command"].startswith("python -m benchmarks") and " load --repository " in result["command"]
    assert set(result["peak_rss_mib"]) == {"gateway", "triton"} and min(result["peak_rss_mib"].values()) > 10
    points = result["measurements"]["points"]
    assert [(p["mode"], p["concurrency"], p["target_rate_rps"]) for p in points] == [("closed", 1, None), ("closed", 2, None), ("open", 0, 20.0)]
    for point in points:
        assert point["errors"] == {}
        assert point["requests"] > 0 and point["items_per_s"] > 0
        assert 0 < point["latency"]["p50_ms"] <= point["latency"]["p99_ms"] <= point["latency"]["max_ms"]
        assert point["cpu_s"]["triton"] > 0 and point["cpu_s"]["gateway"] > 0
    assert (tmp_path / "results" / "smoke.png").stat().st_size > 0
    markdown = (tmp_path / "RESULTS.md").read_text()
    assert "<!-- bench:start -->" in markdown and "| closed | c=2 |" in markdown


def test_quick_decode_and_index_studies_write_goals_with_ratios(tmp_path: Path) -> None:
    _bench("run", "decode", "index", "--quick", *_outputs(tmp_path))

    decode = json.loads((tmp_path / "results" / "decode.json").read_text())
    index = json.loads((tmp_path / "results" / "index.json").read_text())
    assert [goal["name"] for goal in decode["goals"]] == ["decode + preprocess, 90p"]
    assert decode["goals"][0]["measured"] > 0
    tables = {table["title"].split(":")[0].split(",")[0]: table for table in index["tables"]}
    assert set(tables) == {"the gateway's MilvusIndex on Milvus Lite", "Milvus Lite engine after flush vs numpy"}
    recalls = [row[5] for row in tables["Milvus Lite engine after flush vs numpy"]["rows"]]
    assert recalls[0] == 1.0 and all(0 < recall <= 1 for recall in recalls)


def test_report_replaces_only_its_own_section_of_results_markdown(tmp_path: Path) -> None:
    from benchmarks.results_markdown import markers, update_section

    markdown = tmp_path / "RESULTS.md"
    markdown.write_text("# Results\n\n## Soak\nsoak numbers\n")
    update_section(markdown, "bench", "first")
    markdown.write_text(markdown.read_text() + "\n## Describe\ndescribe numbers\n")
    update_section(markdown, "bench", "second")

    text = markdown.read_text()
    start, end = markers("bench")
    assert "soak numbers" in text and "describe numbers" in text
    assert f"{start}\nsecond\n{end}" in text and "first" not in text


def test_quick_http_study_compares_http_with_grpc_in_rounds(tmp_path: Path) -> None:
    _bench("run", "http", "--quick", *_outputs(tmp_path))
    result = json.loads((tmp_path / "results" / "http.json").read_text())
    assert result["interleaved_rounds"] == 1
    assert [point["label"] for point in result["measurements"]["points"]] == ["grpc", "http base64", "http float"]
    assert all(point["errors"] == {} and point["requests"] > 0 for point in result["measurements"]["points"])
    assert [goal["name"] for goal in result["goals"]] == ["http overhead c=1"]

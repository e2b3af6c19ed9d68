"""The failover result (benchmarks/failover.py) as committed: the issue's keys in the file, and the
section of RESULTS.md generated from it, never typed."""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks.failover import DEFAULT_OUT, FailoverResult, main, render_markdown
from benchmarks.results_markdown import RESULTS_MD, markers


def test_the_committed_result_has_the_issues_keys_first() -> None:
    keys = list(json.loads(DEFAULT_OUT.read_text()))
    assert keys[:4] == ["failed_idempotent_calls", "acknowledged_rows", "rows_found", "duplicate_rows"]


def test_results_markdown_holds_the_section_the_result_renders_to() -> None:
    start, end = markers("failover")
    section = RESULTS_MD.read_text().split(start)[1].split(end)[0]
    assert section.strip() == render_markdown(FailoverResult.model_validate_json(DEFAULT_OUT.read_text())).strip()


def test_render_rewrites_only_the_failover_section(tmp_path: Path) -> None:
    markdown = tmp_path / "RESULTS.md"
    markdown.write_text("# Benchmark results\n\n<!-- soak:start -->\nkept\n<!-- soak:end -->\n")
    assert main(["--render", str(DEFAULT_OUT), "--results-md", str(markdown)]) == 0
    text = markdown.read_text()
    assert "kept" in text and "## Failover" in text

"""A pytest plugin: one line at the end of a run that names every skipped test with its reason,
which says how to install what it needs (`.ci/run` installs the system tools)."""

from __future__ import annotations

import pytest


def _reason(report: pytest.TestReport) -> str:
    if isinstance(report.longrepr, tuple):
        return report.longrepr[2].removeprefix("Skipped: ")
    return str(report.longrepr)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    skipped = [report for report in terminalreporter.stats.get("skipped", []) if report.when in ("setup", "call")]
    if not skipped:
        return
    tests_by_reason: dict[str, list[str]] = {}
    for report in skipped:
        tests_by_reason.setdefault(_reason(report), []).append(report.nodeid.rpartition("::")[2])
    named = "; ".join(f"{', '.join(tests)} ({reason})" for reason, tests in tests_by_reason.items())
    terminalreporter.write_line(f"skipped {len(skipped)} tests: {named}; .ci/run installs the system tools they need")

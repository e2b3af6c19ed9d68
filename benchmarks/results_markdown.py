"""Sections of benchmarks/RESULTS.md: each generator owns the text between its two markers."""

from __future__ import annotations

from pathlib import Path

RESULTS_MD = Path(__file__).with_name("RESULTS.md")
HEADER = "# Benchmark results\n\nEvery number below is generated from `benchmarks/results/*.json`; nothing is typed by hand.\n"


def markers(name: str) -> tuple[str, str]:
    return f"<!-- {name}:start -->", f"<!-- {name}:end -->"


def update_section(path: Path, name: str, section: str) -> None:
    """Replace the section `name` of `path` (appending it on first use); keep everything else."""
    start, end = markers(name)
    text = path.read_text() if path.is_file() else HEADER
    block = f"{start}\n{section.strip()}\n{end}"
    if start in text and end in text:
        before, rest = text.split(start, 1)
        text = before + block + rest.split(end, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(text)

"""Generate the plots and the benchmarks section of RESULTS.md from `results/*.json`.

Only the text between the markers is ours: other sections of RESULTS.md (soak, evaluation,
describe) belong to other benchmarks and are kept as they are. Hand-written analysis of a
study lives in `analysis/<study>.md` and is included under its numbers.
"""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from benchmarks.results import MAX_FOREIGN_LOAD, MAX_RELATIVE_SPREAD, Plot, StudyResult, read_results  # noqa: E402
from benchmarks.results_markdown import update_section  # noqa: E402

STUDY_ORDER = ("served", "batching", "gateway", "precision", "model_sizes", "decode", "index", "search")


def _draw(axes, plot: Plot) -> None:
    if plot.kind == "line":
        for series in plot.series:
            axes.plot(series.x, series.y, marker="o", label=series.name)
        if plot.log_x:
            axes.set_xscale("log", base=2)
            ticks = sorted({float(x) for series in plot.series for x in series.x})
            axes.set_xticks(ticks, [f"{tick:g}" for tick in ticks])
    else:
        categories = list(dict.fromkeys(x for series in plot.series for x in map(str, series.x)))
        # Side by side only where series share categories; disjoint ones sit on their own ticks.
        grouped = sum(len(series.x) for series in plot.series) > len(categories)
        width = 0.8 / len(plot.series) if grouped else 0.6
        for number, series in enumerate(plot.series):
            offset = (number - (len(plot.series) - 1) / 2) * width if grouped else 0.0
            positions = [categories.index(str(x)) + offset for x in series.x]
            axes.bar(positions, series.y, width=width, label=series.name)
        axes.set_xticks(range(len(categories)), categories, rotation=20, ha="right")
    if plot.log_y:
        axes.set_yscale("log")
    else:
        axes.set_ylim(bottom=0)
    axes.set_title(plot.title)
    axes.set_xlabel(plot.x_label)
    axes.set_ylabel(plot.y_label)
    axes.grid(alpha=0.3)
    axes.legend()


def write_plot(result: StudyResult, results_dir: Path) -> Path | None:
    """One PNG per study with a panel per plot."""
    if not result.plots:
        return None
    figure, panels = plt.subplots(1, len(result.plots), figsize=(max(8.0, 5.5 * len(result.plots)), 4.2), squeeze=False)
    for axes, plot in zip(panels[0], result.plots):
        _draw(axes, plot)
    figure.suptitle(f"{result.title} ({result.created_at}, load {result.load_average_start[0]:.1f})")
    figure.tight_layout()
    path = results_dir / f"{result.study}.png"
    figure.savefig(path, dpi=90)
    plt.close(figure)
    return path


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}" if value >= 10_000 else str(value)
    return str(value)


def study_markdown(result: StudyResult, analysis_dir: Path, plot: Path | None, markdown_dir: Path) -> str:
    lines = [f"### {result.title}", "", f"_{result.question}_", ""]
    lines += [
        f"- date: {result.created_at}, {result.seconds:.0f} s",
        f"- command: `{result.command}`",
        f"- machine: {result.machine.summary()}",
        f"- load average (1/5/15 min) at start {result.load_average_start}, at end {result.load_average_end}",
        f"- foreign load (machine CPU minus ours, cores): {_foreign(result)}; interleaved rounds: {result.interleaved_rounds or 'none'}",
        "",
    ]
    for goal in result.goals:
        lines.append(
            f"- **goal** {goal.statement}: measured **{goal.measured:.3g}{goal.unit}** (median of rounds {goal.rounds_text}; "
            f"spread {goal.spread:.0%}) — {goal.verdict}"
        )
    if result.goals:
        lines.append("")
    for table in result.tables:
        lines += [f"**{table.title}**", "", "| " + " | ".join(table.columns) + " |", "|" + "---|" * len(table.columns)]
        lines += ["| " + " | ".join(_cell(value) for value in row) + " |" for row in table.rows]
        lines.append("")
    if result.peak_rss_mib:
        lines += ["Peak resident memory (process and children): " + ", ".join(f"{name} {mib:,.0f} MiB" for name, mib in result.peak_rss_mib.items()), ""]
    lines += [f"- {note}" for note in result.notes] + ([""] if result.notes else [])
    if plot is not None:
        lines += [f"![{result.title}]({Path(os.path.relpath(plot, markdown_dir)).as_posix()})", ""]
    analysis = analysis_dir / f"{result.study}.md"
    if analysis.is_file():
        lines += [analysis.read_text().strip(), ""]
    return "\n".join(lines)


def _foreign(result: StudyResult) -> str:
    if result.load is None:
        return "not recorded (a run before the harness measured it)"
    return f"{result.load.foreign_load:.2f} (machine {result.load.machine_cores:.2f}, ours {result.load.our_cores:.2f}; load average minus ours {result.load.load_average_minus_ours:.2f})"


def render_section(results: dict[str, StudyResult], results_dir: Path, analysis_dir: Path, markdown_dir: Path) -> str:
    ordered = [results[name] for name in STUDY_ORDER if name in results] + [r for n, r in results.items() if n not in STUDY_ORDER]
    goals = [(result, goal) for result in ordered for goal in result.goals]
    parts = [
        "## Speed (benchmarks/)", "",
        "Each study compares two ways of doing one job in one run on the same machine, alternating the two "
        "sides in interleaved rounds; a goal's number is the median of the per-round ratios. A verdict is "
        f"*noisy* (never met) when the rounds spread over more than {MAX_RELATIVE_SPREAD:.0%} of their median or when "
        f"work that is not ours used more than {MAX_FOREIGN_LOAD} cores on average (the machine's CPU time from "
        "/proc/stat minus the CPU of the benchmark and its children). Run it with nothing else heavy on the machine. "
        "Regenerate with `make bench` (all studies) or `python -m benchmarks run STUDY`; "
        "`python -m benchmarks report` rebuilds this section from the JSON.", "",
    ]
    if goals:
        parts += ["| goal | measured (median) | rounds | verdict | study |", "|---|---|---|---|---|"]
        parts += [f"| {goal.statement} | {goal.measured:.3g}{goal.unit} | {goal.rounds_text} | {goal.verdict} | {result.study} |" for result, goal in goals]
        parts.append("")
    for result in ordered:
        parts.append(study_markdown(result, analysis_dir, write_plot(result, results_dir), markdown_dir))
    return "\n".join(parts)


def generate(results_dir: Path, markdown: Path, analysis_dir: Path) -> Path:
    section = render_section(read_results(results_dir), results_dir, analysis_dir, markdown.parent)
    update_section(markdown, "bench", section)
    return markdown

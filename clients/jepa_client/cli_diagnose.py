"""`jepa diagnose`: the AnalyzeIndex command of the `jepa` CLI. Progress goes to stderr while the
server works; then a short text summary, the whole diagnosis as JSON, and/or an HTML report."""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import TextIO, TypeVar

from jepa_client.cli_retrieval import Command
from jepa_client.client import Client
from jepa_client.diagnosis import AnalysisProgress, AnalyzeOptions, IndexDiagnosis, TimeRange, diagnosis_json
from jepa_client.report_html import render_report

ResultT = TypeVar("ResultT")
# An analysis reads and compares every row: minutes on a large collection, not the usual seconds.
ANALYSIS_TIMEOUT_S = 600.0
# Items of each list that the text summary shows (the JSON and the report have them all).
SHOWN_ITEMS = 5
TIME_RANGE_FORMAT = "START:END in Unix seconds or ISO-8601 (UTC unless it has an offset); an empty END is now"


def _instant(text: str) -> float:
    """Unix seconds of `text`, a number or an ISO-8601 date/datetime; "" is 0 (an open end)."""
    if not text:
        return 0.0
    try:
        seconds = float(text)
    except ValueError:
        moment = datetime.fromisoformat(text)
        seconds = (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).timestamp()
    if not (math.isfinite(seconds) and seconds >= 0):
        raise ValueError(f"{text}: not a time")
    return seconds


def time_range(text: str) -> TimeRange:
    """`START:END` as a TimeRange (argparse type). ISO datetimes hold colons too, so the range is
    split at the one colon where both sides read as times."""
    ranges = []
    for position in (position for position, character in enumerate(text) if character == ":"):
        try:
            ranges.append(TimeRange(_instant(text[:position]), _instant(text[position + 1 :])))
        except ValueError:
            continue
    if len(ranges) != 1:
        raise argparse.ArgumentTypeError(f"got {text!r}, need {TIME_RANGE_FORMAT}")
    (span,) = ranges
    if span.end_unix_s and span.end_unix_s <= span.start_unix_s:
        raise argparse.ArgumentTypeError(f"got {text!r}, need END after START")
    return span


def _cosine_from(lowest: float) -> Callable[[str], float]:
    """argparse type: a cosine similarity from `lowest` to 1."""

    def cosine(text: str) -> float:
        value = float(text)
        if not lowest <= value <= 1:
            raise argparse.ArgumentTypeError(f"got {text}, need {lowest:g} to 1")
        return value

    return cosine


def add_command(commands: argparse._SubParsersAction, count: Callable[[str], int]) -> None:
    diagnose = commands.add_parser(
        "diagnose", help="diagnose an index by its embedding space",
        description="Analyse a collection's embedding space on the server: spectrum, near-duplicate videos, outliers, clusters "
        "(with captions), query-coverage gaps and drift between two ingestion time ranges. Progress goes to stderr; "
        f"the default deadline is {ANALYSIS_TIMEOUT_S:.0f} s (--timeout, before the command, changes it).",
    )
    diagnose.add_argument("--model", default="", help="served video model whose collection is analysed (default: the server's)")
    diagnose.add_argument("--filter", default="", help="condition on the rows, as in search")
    diagnose.add_argument("--max-rows", type=count, default=0, help="rows analysed at most, a uniform sample beyond (0: server default)")
    diagnose.add_argument("--duplicate-threshold", type=_cosine_from(0), default=0.0, help="similarity of near-duplicate videos (0: server default, 0.97)")
    diagnose.add_argument("--outlier-neighbours", type=count, default=0, help="k of the k-th nearest neighbour distance (0: server default, 20)")
    diagnose.add_argument("--min-cluster-size", type=count, default=0, help="smallest cluster in windows (0: server default)")
    diagnose.add_argument("--no-captions", dest="captions", action="store_false", help="do not decode captions of clusters and gaps")
    diagnose.add_argument("--gap-threshold", type=_cosine_from(-1), default=0.0, help="best score under which a query is a coverage gap (0: automatic)")
    diagnose.add_argument("--drift-reference", type=time_range, metavar="START:END", help=f"rows indexed in this range are the reference ({TIME_RANGE_FORMAT})")
    diagnose.add_argument("--drift-current", type=time_range, metavar="START:END", help="rows indexed in this range are compared with the reference")
    diagnose.add_argument("--top-outliers", type=count, default=0, help="outlier windows and videos listed (0: server default, 20)")
    diagnose.add_argument("--map-points", type=count, default=0, help="points of the 2-D map (0: server default, 2000)")
    diagnose.add_argument("--seed", type=count, default=0, help="seed of sampling, permutation test and map (0: fixed default)")
    diagnose.add_argument("--html", type=Path, metavar="FILE", help="also write the diagnosis as a self-contained HTML page")
    diagnose.add_argument("--json", action="store_true", help="print the whole diagnosis as JSON (thumbnails in base64)")


class _StageProgress:
    """AnalyzeIndex's progress on stderr: one line redrawn in place on a terminal; elsewhere one
    line per stage, so that logs stay short."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.live = stream.isatty()
        self.stage = ""

    def show(self, progress: AnalysisProgress) -> None:
        line = f"[{progress.stage}] {progress.fraction:.0%} {progress.detail}".rstrip()
        if self.live:
            self.stream.write(f"\r{line}\x1b[K")
        elif progress.stage != self.stage:
            self.stream.write(f"{line}\n")
        self.stream.flush()
        self.stage = progress.stage

    def close(self) -> None:
        if self.live and self.stage:
            self.stream.write("\n")


def outcome(events: Iterable[AnalysisProgress | ResultT]) -> ResultT | None:
    """The stream's one result (None when it sent none), its progress shown on stderr meanwhile."""
    progress = _StageProgress(sys.stderr)
    result = None
    try:
        for event in events:
            if isinstance(event, AnalysisProgress):
                progress.show(event)
            else:
                result = event
    finally:
        progress.close()
    return result


def _field(label: str, text: str) -> str:
    return f"{label:<11} {text}"


def _items(lines: Sequence[str]) -> list[str]:
    """The first SHOWN_ITEMS lines indented under their field, and how many more there are."""
    shown = [f"{'':<14}{line}" for line in lines[:SHOWN_ITEMS]]
    return shown + ([f"{'':<14}... and {len(lines) - SHOWN_ITEMS} more"] if len(lines) > SHOWN_ITEMS else [])


def summary(diagnosis: IndexDiagnosis) -> list[str]:
    """The diagnosis in a screenful of text, one finding a line."""
    model, spectrum, distances = diagnosis.model, diagnosis.spectrum, diagnosis.nearest_neighbours
    rows = f"{diagnosis.rows_analyzed:,} of {diagnosis.rows_total:,} analysed" + (" (a uniform sample)" if diagnosis.sampled else "")
    lines = [
        _field("collection", f"{diagnosis.collection}  (model {model.name} v{model.version}, {model.dimension}-d, space {model.embedding_space})"),
        _field("rows", f"{rows}, {diagnosis.videos_analyzed:,} videos, {diagnosis.seconds:.1f} s"),
        _field("spectrum", f"effective rank {spectrum.effective_rank:.1f} of {spectrum.dimension}; 90% of the variance in {spectrum.dimensions_for_90_percent} directions"),
    ]
    if len(distances.quantiles) == 7:
        p5, median, p95 = distances.quantiles[1], distances.quantiles[3], distances.quantiles[5]
        lines.append(_field("neighbours", f"nearest-window cosine distance: median {median:.3f} (p5 {p5:.3f}, p95 {p95:.3f})"))
    lines.append(_field("duplicates", f"{len(diagnosis.duplicates)} groups at similarity >= {diagnosis.duplicate_threshold:.2f}"))
    lines += _items([f"{group.similarity:.4f}  {', '.join(group.video_ids)}" for group in diagnosis.duplicates])
    lines.append(_field("outliers", f"{len(diagnosis.outlier_videos)} videos, {len(diagnosis.outlier_windows)} windows listed; top videos:"))
    lines += _items([f"{video.score:.3f}  {video.video_id} ({video.windows} windows)" for video in diagnosis.outlier_videos])
    lines.append(_field("clusters", f"{len(diagnosis.clusters)}, {diagnosis.unclustered_windows:,} windows in none"))
    lines += _items([f"#{cluster.id:<3} {cluster.windows:>7,} windows  {cluster.caption or '(no caption)'}" for cluster in diagnosis.clusters])
    coverage = diagnosis.coverage
    if coverage.queries_sampled:
        lines.append(_field("coverage", f"{coverage.queries_covered:,} of {coverage.queries_sampled:,} sampled queries covered; "
                                        f"{len(coverage.gaps)} gaps below {coverage.threshold:.3f}"))
        lines += _items([f"{gap.best_score:.3f}  {gap.queries[0]!r}" + (f" (+{len(gap.queries) - 1})" if len(gap.queries) > 1 else "")
                         + (f"  ~ {gap.caption}" if gap.caption else "") for gap in coverage.gaps if gap.queries])
    else:
        lines.append(_field("coverage", "no queries sampled"))
    drift = diagnosis.drift
    if drift is not None:
        verdict = "DRIFTED" if drift.drifted else "no drift"
        lines.append(_field("drift", f"{verdict}: p = {drift.p_value:.4g}, MMD^2 {drift.mmd:.4g} "
                                     f"({drift.reference_rows:,} reference rows, {drift.current_rows:,} current)"))
    lines += [_field("note", note) for note in diagnosis.notes]
    return lines


def _diagnose(args: argparse.Namespace, options: AnalyzeOptions, client: Client) -> int:
    diagnosis = outcome(client.analyze_index(options))
    if diagnosis is None:
        print("jepa: diagnose: the stream ended without a diagnosis", file=sys.stderr)
        return 1
    if args.json:
        print(diagnosis_json(diagnosis))
    else:
        print("\n".join(summary(diagnosis)))
    if args.html:
        try:
            args.html.write_text(render_report(diagnosis), encoding="utf-8")
        except OSError as error:
            print(f"jepa: --html: {error}", file=sys.stderr)
            return 1
        # With --json, stdout holds the JSON document alone.
        print(f"report: {args.html}", file=sys.stderr if args.json else sys.stdout)
    return 0


def prepare(args: argparse.Namespace) -> Command | None:
    """`jepa diagnose` ready to run (None for other commands); raises OSError or ValueError for a
    local problem before the analysis starts, not minutes into it."""
    if args.command != "diagnose":
        return None
    if (args.drift_reference is None) != (args.drift_current is None):
        raise ValueError("--drift-reference and --drift-current: give both or neither")
    if args.html and not args.html.parent.is_dir():
        raise FileNotFoundError(f"--html: {args.html.parent}: no such folder")
    options = AnalyzeOptions(
        model=args.model, filter=args.filter, max_rows=args.max_rows, duplicate_threshold=args.duplicate_threshold,
        outlier_neighbours=args.outlier_neighbours, min_cluster_size=args.min_cluster_size, captions=args.captions,
        gap_threshold=args.gap_threshold, drift=(args.drift_reference, args.drift_current) if args.drift_reference else None,
        top_outliers=args.top_outliers, map_points=args.map_points, seed=args.seed,
    )
    return lambda client: _diagnose(args, options, client)

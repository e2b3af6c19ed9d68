"""`jepa-serve migrate` (also `jepa migrate`): model migration from the command line, thin over the
SDK. The gateway does the work (Milvus Lite lets one process hold the index): re-index into the new
model's collection, compare, switch, roll back, drop the old collection (docs/operating.md)."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Callable
from pathlib import Path

from jepa_client.cli_diagnose import outcome
from jepa_client.cli_retrieval import Command
from jepa_client.client import Client
from jepa_client.migration import ComparisonQuery, MigrateOptions, MigrationReport, RecallSide, ServingState

# A migration lasts as long as its call: a whole collection re-embedded, hours on a large one.
MIGRATION_TIMEOUT_S = 7 * 86_400.0
SHOWN_IDS = 10
QUERIES_FORMAT = 'one JSON object a line: {"text": "...", "relevant_ids": ["id", ...]} (relevant_ids optional)'


def add_arguments(parser: argparse.ArgumentParser, count: Callable[[str], int]) -> None:
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--to", dest="to_model", metavar="MODEL", help="re-index every video of the serving collection into MODEL's; run again to resume")
    action.add_argument("--switch-to", metavar="MODEL", help="switch searches to MODEL's collection now (the serving one is kept for --rollback)")
    action.add_argument("--rollback", action="store_true", help="switch searches back to the previous collection")
    action.add_argument("--drop-old", action="store_true", help="drop the previous collection, for good: no --rollback after this")
    action.add_argument("--status", action="store_true", help="show the serving collection and the one --rollback returns to")
    parser.add_argument("--from", dest="from_model", default="", metavar="MODEL", help="with --to: read MODEL's collection instead of the serving one")
    parser.add_argument("--queries", type=Path, metavar="FILE", help=f"with --to: compare the recall of both collections on these queries, {QUERIES_FORMAT}")
    parser.add_argument("-k", "--top-k", type=count, default=0, help="with --queries: results per query (0: server default, 10)")
    parser.add_argument("--switch", action="store_true", help="with --to: switch searches to MODEL once every video made it (exit 1 if not)")
    parser.add_argument("--json", action="store_true", help="print the report or state as JSON")


def add_command(commands: argparse._SubParsersAction, count: Callable[[str], int]) -> argparse.ArgumentParser:
    migrate = commands.add_parser(
        "migrate", help="move searches to a new model without downtime",
        description="Re-index the serving collection into a new model's (--to), compare their recall (--queries), switch "
        "searches (--switch or --switch-to), roll back (--rollback) until the old collection is dropped (--drop-old). "
        f"Progress goes to stderr; the default deadline of --to is {MIGRATION_TIMEOUT_S:.0f} s.",
    )
    add_arguments(migrate, count)
    return migrate


def read_queries(path: Path) -> tuple[ComparisonQuery, ...]:
    """The comparison queries of a JSON-lines file; ValueError naming the line when one is wrong."""
    queries = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
            text, relevant = entry["text"], entry.get("relevant_ids", [])
            if not isinstance(text, str) or not isinstance(relevant, list) or not all(isinstance(item, str) for item in relevant):
                raise TypeError("text must be a string and relevant_ids a list of strings")
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise ValueError(f"--queries: {path} line {number}: need {QUERIES_FORMAT} ({error})") from error
        queries.append(ComparisonQuery(text, tuple(relevant)))
    return tuple(queries)


def _listed(ids: tuple[str, ...], total: int) -> str:
    more = f" (+{total - SHOWN_IDS} more)" if total > SHOWN_IDS else ""
    return ", ".join(ids[:SHOWN_IDS]) + more


def _side(side: RecallSide) -> str:
    if not side.measured:
        return "not measured"
    return f"{side.recall_at_k:.3f} (text model {side.text_model})"


def state_lines(state: ServingState) -> list[str]:
    model = f"model {state.model.name} v{state.model.version}" if state.model.name else "no served model writes it"
    how = f"alias {state.alias}" if state.switched else "the default video model; never switched"
    lines = [f"serving    {state.collection} ({model}; {how})"]
    if state.previous_collection:
        writer = f"model {state.previous_model}" if state.previous_model else "no served model writes it"
        lines.append(f"previous   {state.previous_collection} ({writer}): --rollback returns to it, --drop-old drops it")
    else:
        lines.append("previous   none: nothing to roll back to")
    return lines


def report_lines(report: MigrationReport) -> list[str]:
    """The report in a screenful of text, one finding a line."""
    lines = [
        f"source     {report.source_collection} (model {report.source_model.name} v{report.source_model.version})",
        f"target     {report.target_collection} (model {report.target_model.name} v{report.target_model.version})",
        f"videos     {report.source_videos:,} in the source: {report.copied:,} re-indexed, {report.up_to_date:,} already up to date, "
        f"{report.removed:,} removed, {report.not_reindexable:,} not re-indexable, {report.failures:,} failed "
        f"({report.passes} passes, {report.seconds:.1f} s)",
    ]
    if report.not_reindexable:
        lines.append(f"not re-indexable (indexed from bytes or frames; index them with --model {report.target_model.name}): "
                     f"{_listed(report.not_reindexable_ids, report.not_reindexable)}")
    lines += [f"failed     {failure.id}: {failure.error}" for failure in report.failed[:SHOWN_IDS]]
    comparison = report.comparison
    if comparison is not None:
        queries = f"{comparison.labelled_queries} labelled and {comparison.unlabelled_queries} unlabelled queries"
        lines.append(f"recall@{comparison.top_k:<3} source {_side(comparison.source)}, target {_side(comparison.target)}; "
                     f"overlap@{comparison.top_k} {comparison.overlap_at_k:.3f} ({queries})")
        lines += [f"note       {note}" for note in comparison.notes]
    lines.append(f"switched   {'yes' if report.switched else 'no'}")
    lines += state_lines(report.serving)
    lines += [f"note       {note}" for note in report.notes]
    return lines


def _as_json(record: MigrationReport | ServingState) -> str:
    return json.dumps(dataclasses.asdict(record))


def _migrate(args: argparse.Namespace, options: MigrateOptions, client: Client) -> int:
    report = outcome(client.migrate(options))
    if report is None:
        print("jepa: migrate: the stream ended without a report", file=sys.stderr)
        return 1
    print(_as_json(report) if args.json else "\n".join(report_lines(report)))
    return 1 if options.switch and not report.switched else 0


def _serving(args: argparse.Namespace, client: Client) -> int:
    if args.drop_old:
        dropped = client.drop_previous()
        state = dropped.serving
        if not args.json:
            print(f"dropped    {dropped.dropped_collection}")
    elif args.rollback:
        state = client.rollback_serving()
    elif args.switch_to:
        state = client.switch_serving(args.switch_to)
    else:
        state = client.serving()
    print(_as_json(state) if args.json else "\n".join(state_lines(state)))
    return 0


def prepare(args: argparse.Namespace) -> Command | None:
    """`migrate` ready to run (None for other commands); raises ValueError or OSError for a local
    problem (a bad queries file, options that go with --to only) before any call."""
    if args.command != "migrate":
        return None
    if not args.to_model:
        given = [option for option, value in (("--from", args.from_model), ("--queries", args.queries), ("--switch", args.switch)) if value]
        if given:
            raise ValueError(f"{', '.join(given)}: only with --to")
        return lambda client: _serving(args, client)
    queries = read_queries(args.queries) if args.queries else ()
    options = MigrateOptions(to_model=args.to_model, from_model=args.from_model, queries=queries, top_k=args.top_k, switch=args.switch)
    return lambda client: _migrate(args, options, client)

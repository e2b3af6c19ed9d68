"""`jepa index | search | delete | stats`: the retrieval commands of the `jepa` CLI.

`prepare(args)` checks everything local (files, JSON) before a connection is made and returns
the command to run with a connected client.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

from jepa_client.client import Client
from jepa_client.convert import IndexItem
from jepa_client.results import IndexStats, SearchResults

VIDEO_SUFFIXES = frozenset({".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".mpg", ".mpeg", ".ts", ".ogv", ".3gp"})
MAX_BATCH = 256

Command = Callable[[Client], int]


def _batch_size(text: str) -> int:
    value = int(text)
    if not 1 <= value <= MAX_BATCH:
        raise argparse.ArgumentTypeError(f"got {text}, need 1 to {MAX_BATCH}")
    return value


def add_commands(commands: argparse._SubParsersAction, count: Callable[[str], int]) -> None:
    index = commands.add_parser(
        "index", help="index video files (folders recurse)",
        description="Index video files into the server's index. Folders recurse (video suffixes only). A video's id is "
        "its path relative to --root. Ids already indexed are skipped unless --reindex, so an interrupted run resumes.",
    )
    index.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    index.add_argument("--root", type=Path, default=Path("."), help="ids are paths relative to this folder (default: the current one)")
    index.add_argument("--reindex", action="store_true", help="index again ids that are already indexed (their rows are replaced)")
    index.add_argument("--metadata", default="", help="JSON object stored with every video, e.g. '{\"source\": \"camera-3\"}'")
    index.add_argument("--model", default="", help="served video model (default: the server's)")
    index.add_argument("--window-stride", type=count, default=0, help="frames between window starts (0: no overlap)")
    index.add_argument("--batch", type=_batch_size, default=8, help="videos per call; each call is acknowledged as a whole (default %(default)s)")

    search = commands.add_parser("search", help="search the index by text or by video", description="Search the index; one line per video, best first.")
    query = search.add_mutually_exclusive_group(required=True)
    query.add_argument("text", nargs="?", metavar="TEXT")
    query.add_argument("--video", type=Path, help="search with a video file instead of a text")
    search.add_argument("-k", "--top-k", type=count, default=5, help="videos to return (default %(default)s)")
    search.add_argument("--filter", default="", help='condition on the rows, e.g. \'metadata["tag"] == "x" and window_index < 3\'')
    search.add_argument("--model", default="", help="served video model whose index is searched (default: the server's)")
    search.add_argument("--text-model", default="", help="served text model (default: the server's)")
    search.add_argument("--json", action="store_true", help="print the results as JSON")

    delete = commands.add_parser("delete", help="remove videos from the index", description="Remove every window of the videos.")
    delete.add_argument("ids", nargs="+", metavar="ID")
    delete.add_argument("--model", default="", help="served video model (default: the server's)")

    stats = commands.add_parser("stats", help="size of the index", description="Rows, videos and index type of a video model's collection.")
    stats.add_argument("--model", default="", help="served video model (default: the server's)")
    stats.add_argument("--json", action="store_true", help="print the statistics as JSON")


def video_files(paths: Sequence[Path], root: Path) -> list[tuple[str, Path]]:
    """(id, file) of every video: a file as given, a folder's video files recursively, sorted."""
    root = root.resolve()
    found: dict[str, Path] = {}
    for path in paths:
        if path.is_dir():
            files = sorted(file for file in path.rglob("*") if file.is_file() and file.suffix.lower() in VIDEO_SUFFIXES)
        elif path.is_file():
            files = [path]
        else:
            raise FileNotFoundError(f"{path}: no such file or folder")
        for file in files:
            resolved = file.resolve()
            if not resolved.is_relative_to(root):
                raise ValueError(f"{file}: outside --root {root}; ids are paths relative to it")
            found.setdefault(resolved.relative_to(root).as_posix(), file)
    return list(found.items())


def _json_object(text: str) -> dict[str, Any]:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError as error:
        raise ValueError(f"--metadata: not valid JSON ({error})") from error
    if not isinstance(value, dict):
        raise ValueError(f"--metadata: must be a JSON object, got {type(value).__name__}")
    return value


def _batches(items: Sequence[tuple[str, Path]], size: int) -> Iterator[Sequence[tuple[str, Path]]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class _Progress:
    """Videos done out of all, on one line of stderr redrawn in place; silent when stderr is not a
    terminal (logs and pipes get the summary line only). Standard library only: the SDK needs
    grpcio, protobuf and numpy, nothing else."""

    def __init__(self, total: int, stream: TextIO) -> None:
        self.total = total
        self.done = 0
        self.stream = stream
        self.live = stream.isatty()

    def update(self, count: int) -> None:
        self.done += count
        if self.live:
            self.stream.write(f"\rindexing: {self.done}/{self.total} videos")
            self.stream.flush()

    def close(self) -> None:
        if self.live:
            self.stream.write("\n")


def _index(args: argparse.Namespace, files: list[tuple[str, Path]], metadata: dict[str, Any], client: Client) -> int:
    indexed = windows = skipped = failed = 0
    progress = _Progress(len(files), sys.stderr)
    try:
        for batch in _batches(files, args.batch):
            present = set() if args.reindex else set(client.index_stats(model=args.model, ids=[video_id for video_id, _ in batch]).indexed_ids)
            todo = [(video_id, path) for video_id, path in batch if video_id not in present]
            skipped += len(batch) - len(todo)
            if todo:
                report = client.index_videos(
                    (IndexItem(video_id, path, metadata=metadata) for video_id, path in todo), model=args.model, window_stride=args.window_stride
                )
                for item in report.items:
                    if item.ok:
                        indexed, windows = indexed + 1, windows + item.num_windows
                    else:
                        failed += 1
                        print(f"jepa: {item.id}: {item.code.name}: {item.error}", file=sys.stderr)
            progress.update(len(batch))
    finally:
        progress.close()
    print(f"indexed {indexed} videos ({windows} windows), skipped {skipped} already indexed, failed {failed}")
    return 1 if failed else 0


def _print_results(results: SearchResults, as_json: bool) -> None:
    if as_json:
        print(json.dumps(dataclasses.asdict(results)))
        return
    model = results.model
    print(f"model {model.name} v{model.version} ({model.dimension}-d, space {model.embedding_space}), collection {results.collection}")
    for rank, hit in enumerate(results.hits, 1):
        moment = f"  moment {hit.moment[0]:.2f}-{hit.moment[1]:.2f} s" if hit.moment else ""
        metadata = f"  {json.dumps(hit.metadata)}" if hit.metadata else ""
        print(f"{rank:>3}. {hit.video_id}  score {hit.score:.4f}  window {hit.window_index} {hit.start_seconds:.2f}-{hit.end_seconds:.2f} s{moment}{metadata}")


def _print_stats(stats: IndexStats, as_json: bool) -> None:
    if as_json:
        print(json.dumps(dataclasses.asdict(stats)))
        return
    model = stats.model
    print(f"collection  {stats.collection}")
    print(f"model       {model.name} v{model.version} ({model.dimension}-d, space {model.embedding_space})")
    print(f"index       {stats.backend}, {stats.index_type}")
    print(f"videos      {stats.videos}")
    print(f"rows        {stats.rows}")


def _stats(args: argparse.Namespace, client: Client) -> int:
    _print_stats(client.index_stats(model=args.model), args.json)
    return 0


def _delete(args: argparse.Namespace, client: Client) -> int:
    result = client.delete_videos(args.ids, model=args.model)
    print(f"deleted {len(result.deleted_ids)} videos ({result.rows_deleted} rows)")
    missing = [video_id for video_id in dict.fromkeys(args.ids) if video_id not in result.deleted_ids]
    if missing:
        print(f"not indexed: {', '.join(missing)}")
    return 0


def prepare(args: argparse.Namespace) -> Command | None:
    """The retrieval command of `args` ready to run (None for other commands); raises OSError or
    ValueError for local problems, before anything is sent."""
    if args.command == "index":
        files, metadata = video_files(args.paths, args.root), _json_object(args.metadata)
        return lambda client: _index(args, files, metadata, client)
    if args.command == "search":
        video = args.video.read_bytes() if args.video else None

        def search(client: Client) -> int:
            results = client.search(
                args.text, video=video, top_k=args.top_k, filter=args.filter, model=args.model, text_model=args.text_model, moments=True
            )
            _print_results(results, args.json)
            return 0

        return search
    if args.command == "delete":
        return lambda client: _delete(args, client)
    if args.command == "stats":
        return lambda client: _stats(args, client)
    return None

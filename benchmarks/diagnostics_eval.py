"""Index diagnostics judged where the truth is known: a demo collection of ~2,000 windows with
injected trouble (`jepa_export.demo.trouble`: re-encoded copies, black / noise / corrupt videos,
one class never indexed, a second ingest whose shape distribution drifted), indexed through the
served VL-JEPA by IndexVideos like any client, searched by every class's caption, then diagnosed
by AnalyzeIndex.

- `duplicate_precision`, `duplicate_recall`: video pairs of the reported groups against the true
  copies (and the black videos, identical frame for frame).
- `outliers_in_top5pct`: share of the injected outlier windows among the 5% highest outlier scores.
- `missing_class_reported`: a coverage gap holds the missing class's caption; `gap_queries_other`
  counts the other classes' captions reported as gaps (false gaps).
- `drift_p_value`: first ingest against the second, by their ingestion time ranges.
- `false_alarm_splits`: of 20 random halves of the first ingest, how many the same test calls
  drifted (p < 0.01); the statistic is the server's (`space.drift_test`), on the served window
  embeddings, centred like AnalyzeIndex centres them.
- `cluster_caption_accuracy`: clusters whose decoded caption names their dominant class.

    python -m benchmarks.diagnostics_eval --repository artifacts/repository/cpu
"""

from __future__ import annotations

import argparse
import json
import random
import shlex
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
from tqdm import tqdm

from benchmarks.processes import ServedStack
from benchmarks.results import load_average
from jepa_client import AnalyzeOptions, Client, IndexDiagnosis, IndexItem, TimeRange
from jepa_client.report_html import render_report
from jepa_export.demo.grammar import ALL_CLASSES
from jepa_export.demo.trouble import TroubleManifest, TroubleSettings, TroubleVideo, duplicate_truth, load_trouble_manifest, write_trouble_collection
from jepa_server.core.diagnostics import space

DEFAULT_RESULTS = Path("benchmarks/results/diagnostics.json")
DEFAULT_SCRATCH = Path("benchmarks/.cache/diagnostics")
INDEX_BATCH = 32
QUERY_REPEATS = 2  # each class's caption is asked this often (recent queries repeat)
FALSE_ALARM_SPLITS = 20


def _index(client: Client, videos: list[TroubleVideo], label: str) -> None:
    for start in tqdm(range(0, len(videos), INDEX_BATCH), desc=f"indexing {label}", unit="batch"):
        report = client.index_videos([IndexItem(video.file, uri=video.file) for video in videos[start : start + INDEX_BATCH]])
        if report.failed:
            raise RuntimeError(f"indexing {report.failed[0].id} failed: {report.failed[0].error}")


def _window_classes(manifest: TroubleManifest) -> dict[tuple[str, int], int]:
    return {(video.file, index): label for video in manifest.videos for index, label in enumerate(video.window_classes)}


def _dominant_class(diagnosis: IndexDiagnosis, cluster: int, truth: dict[tuple[str, int], int]) -> int | None:
    """The most frequent true class among the map points of a cluster (the map is a uniform sample)."""
    labels = Counter(truth.get((point.video_id, point.window_index), -1) for point in diagnosis.map if point.cluster == cluster)
    labels.pop(-1, None)
    return labels.most_common(1)[0][0] if labels else None


def analyze(client: Client, options: AnalyzeOptions) -> IndexDiagnosis:
    """AnalyzeIndex's diagnosis, its progress redrawn on one stderr line meanwhile."""
    diagnosis = None
    for event in client.analyze_index(options, timeout=3600):
        if isinstance(event, IndexDiagnosis):
            diagnosis = event
        else:
            print(f"\r[{event.stage}] {event.fraction:.0%} {event.detail}".ljust(80), end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    assert diagnosis is not None, "the stream ended without a diagnosis"
    return diagnosis


def _served_windows(client: Client, videos: list[TroubleVideo], model: str = "") -> np.ndarray:
    """(windows, D) served window embeddings of the videos, in order, centred like AnalyzeIndex centres them."""
    vectors = np.concatenate([
        np.stack([window.embedding for window in client.embed_video(uri=video.file, model=model, return_windows=True).windows])
        for video in tqdm(videos, desc=f"embedding with {model or 'the default model'}")
    ])
    unit = space.unit(vectors)
    return space.centred(unit, unit.mean(axis=0))


def _false_alarms(analysed: np.ndarray, seed: int) -> tuple[int, list[float]]:
    """Random halves of one ingest through the server's drift test."""
    rng = np.random.default_rng(seed)
    p_values = []
    for split in range(FALSE_ALARM_SPLITS):
        order = rng.permutation(len(analysed))
        half = len(order) // 2
        p_values.append(space.drift_test(analysed[order[:half]], analysed[order[half:]], seed + split).p_value)
    return sum(p < space.DRIFT_ALPHA for p in p_values), p_values


def _copy_separation(analysed: np.ndarray, videos: list[TroubleVideo]) -> dict[str, float]:
    """Window similarity (centred) of each copy to its original against that of different clips of
    one class: what decides whether single windows can tell a copy from another clip of its kind."""
    rows: dict[str, range] = {}
    for video in videos:
        start = sum(len(span) for span in rows.values())
        rows[video.file] = range(start, start + video.windows)
    copies = [
        float(analysed[rows[video.file][index]] @ analysed[rows[video.copy_of][index]])
        for video in videos if video.copy_of for index in range(video.windows)
    ]
    originals = [video for video in videos if not video.copy_of and not video.outlier]
    by_class: dict[int, list[int]] = {}
    for video in originals:
        for index, label in enumerate(video.window_classes):
            by_class.setdefault(label, []).append(rows[video.file][index])
    same_class = [float(analysed[a] @ analysed[b]) for members in by_class.values() for i, a in enumerate(members) for b in members[i + 1 :]]
    return {
        "copy_min": min(copies), "copy_median": float(np.median(copies)),
        "same_class_median": float(np.median(same_class)), "same_class_p99": float(np.percentile(same_class, 99)), "same_class_max": max(same_class),
    }


def evaluate(client: Client, manifest: TroubleManifest, scratch: Path, seed: int) -> tuple[dict, IndexDiagnosis]:
    first = [video for video in manifest.videos if video.ingest == 1]
    random.Random(seed).shuffle(first)  # copies and outliers arrive among the originals
    second = [video for video in manifest.videos if video.ingest == 2]
    started = time.time()
    _index(client, first, "first ingest")
    split_at = time.time()
    time.sleep(1.0)
    _index(client, second, "second ingest (drifted)")
    index_seconds = time.time() - started
    captions = [attributes.caption() for attributes in ALL_CLASSES]
    for _ in range(QUERY_REPEATS):
        for caption in captions:
            client.search(caption, top_k=5)
    windows = sum(video.windows for video in manifest.videos)
    options = AnalyzeOptions(
        drift=(TimeRange(0.0, split_at), TimeRange(split_at, 0.0)), top_outliers=max(1, windows // 20), map_points=windows, seed=seed,
    )
    diagnosis = analyze(client, options)
    assert diagnosis.drift is not None
    (scratch / "report.html").write_text(render_report(diagnosis))

    truth_pairs = duplicate_truth(manifest)
    found_pairs = {frozenset((a, b)) for group in diagnosis.duplicates for a in group.video_ids for b in group.video_ids if a < b}
    outlier_windows = {(video.file, index) for video in manifest.videos if video.outlier for index in range(video.windows)}
    flagged = {(outlier.window.video_id, outlier.window.window_index) for outlier in diagnosis.outlier_windows}
    missing_caption = ALL_CLASSES[manifest.missing_class].caption()
    gap_queries = [query for gap in diagnosis.coverage.gaps for query in gap.queries]
    truth = _window_classes(manifest)
    named = []
    for cluster in diagnosis.clusters:
        dominant = _dominant_class(diagnosis, cluster.id, truth)
        named.append(dominant is not None and ALL_CLASSES[dominant].named_in(cluster.caption))
    first_ingest = [video for video in manifest.videos if video.ingest == 1]
    served = _served_windows(client, first_ingest)
    false_alarms, split_p_values = _false_alarms(served, seed)
    separation = {"vljepa_video": _copy_separation(served, first_ingest), "vjepa2_encoder": _copy_separation(_served_windows(client, first_ingest, "vjepa2_encoder"), first_ingest)}
    results = {
        "duplicate_precision": len(found_pairs & truth_pairs) / max(1, len(found_pairs)),
        "duplicate_recall": len(found_pairs & truth_pairs) / max(1, len(truth_pairs)),
        "duplicate_pairs_true": len(truth_pairs),
        "duplicate_pairs_reported": len(found_pairs),
        "outliers_in_top5pct": len(flagged & outlier_windows) / max(1, len(outlier_windows)),
        "outlier_windows_injected": len(outlier_windows),
        "missing_class_reported": missing_caption in gap_queries,
        "gap_queries_other": sum(query != missing_caption for query in gap_queries),
        "coverage_threshold": diagnosis.coverage.threshold,
        "drift_p_value": diagnosis.drift.p_value,
        "drift_mmd": diagnosis.drift.mmd,
        "drift_permutations": diagnosis.drift.permutations,
        "false_alarm_splits": false_alarms,
        "no_false_alarm_splits": FALSE_ALARM_SPLITS - false_alarms,
        "split_p_values": [round(p, 4) for p in split_p_values],
        "cluster_caption_accuracy": float(np.mean(named)) if named else 0.0,
        "clusters": len(diagnosis.clusters),
        "unclustered_windows": diagnosis.unclustered_windows,
        "effective_rank": diagnosis.spectrum.effective_rank,
        "rows_analyzed": diagnosis.rows_analyzed,
        "videos_analyzed": diagnosis.videos_analyzed,
        "analyze_seconds": diagnosis.seconds,
        "index_seconds": index_seconds,
        "notes": list(diagnosis.notes),
        "window_similarity_centred": separation,
    }
    return results, diagnosis


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repository", type=Path, required=True, help="a VL-JEPA repository (jepa-export --vljepa models/vljepa-demo)")
    parser.add_argument("--scratch", type=Path, default=DEFAULT_SCRATCH, help="collection, index and report.html go here")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--results", type=Path, default=DEFAULT_RESULTS)
    args = parser.parse_args(argv)
    media = args.scratch / "media"
    manifest = load_trouble_manifest(media) if (media / "trouble.json").exists() else write_trouble_collection(media, TroubleSettings(seed=args.seed))
    index = args.scratch / f"index-{time.time_ns()}.db"
    environment = {"JEPA_INDEX_URI": str(index), "JEPA_QUERY_SAMPLE_SIZE": "1000", "JEPA_MEDIA_ROOTS": json.dumps([str(media.resolve())])}
    load_at_start = load_average()
    with ServedStack(args.repository, args.scratch / "logs", environment) as stack, Client(stack.gateway_address) as client:
        results, _ = evaluate(client, manifest, args.scratch, args.seed)
    results["load_average_start"], results["load_average_end"] = load_at_start, load_average()
    results["command"] = shlex.join(["python", "-m", "benchmarks.diagnostics_eval", *(sys.argv[1:] if argv is None else argv)])
    results["report"] = str(args.scratch / "report.html")
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    print(json.dumps({key: value for key, value in results.items() if key != "split_p_values"}, indent=1))
    print(f"wrote {args.results}")


if __name__ == "__main__":
    main()

"""What AnalyzeIndex costs as the collection grows: seconds and the gateway's peak memory at
10,000 and 50,000 rows, and at 50,000 rows again with `diagnostics_max_rows` at 10,000, where the
analysis samples: its time and memory should fall back to about the 10,000-row run's.

The rows are the served VL-JEPA's window embeddings of the trouble collection
(`jepa_export.demo.trouble`), each repeated with small Gaussian noise, in videos of 32 windows:
the space keeps the demo's structure at any size. They are written with the index adapter
(`MilvusIndex.replace_video`, what IndexVideos calls after embedding), since embedding 200,000
windows would measure the encoder, not the analysis. Each size gets a fresh gateway process.

    python -m benchmarks.diagnostics_scale --repository artifacts/repository/cpu
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shlex
import sys
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from benchmarks.diagnostics_eval import analyze
from benchmarks.processes import ServedStack
from benchmarks.results import load_average
from jepa_client import AnalyzeOptions, Client, IndexDiagnosis
from jepa_export.demo.trouble import TroubleSettings, load_trouble_manifest, write_trouble_collection
from jepa_server.index.milvus import CollectionSpec, MilvusIndex, WindowRow

DEFAULT_RESULTS = Path("benchmarks/results/diagnostics_scale.json")
DEFAULT_SCRATCH = Path("benchmarks/.cache/diagnostics-scale")
SIZES = (10_000, 50_000)
SAMPLED_CEILING = 10_000
WINDOWS_PER_VIDEO = 32
SEAL_EVERY = 32  # videos, one IndexVideos call of `jepa index`'s batches
NOISE = 0.02  # per dimension, on unit vectors of 384 dimensions: cosine ~0.93 to the source window


def _source_windows(repository: Path, media: Path, scratch: Path) -> tuple[np.ndarray, CollectionSpec]:
    """The served window embeddings of the trouble collection, and the collection they belong in."""
    manifest = load_trouble_manifest(media) if (media / "trouble.json").exists() else write_trouble_collection(media, TroubleSettings())
    environment = {"JEPA_INDEX_URI": str(scratch / "source.db"), "JEPA_MEDIA_ROOTS": json.dumps([str(media.resolve())])}
    with ServedStack(repository, scratch / "logs", environment) as stack, Client(stack.gateway_address) as client:
        vectors = [
            window.embedding
            for video in tqdm(manifest.videos, desc="embedding the source windows")
            for window in client.embed_video(uri=video.file, return_windows=True).windows
        ]
        video_model = next(model for model in client.list_models() if model.name == "vljepa_video")
    spec = CollectionSpec(model=video_model.name, version=video_model.version, dimension=video_model.dimension, embedding_space=video_model.embedding_space)
    return np.stack(vectors), spec


async def _fill(path: Path, spec: CollectionSpec, source: np.ndarray, rows: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    index = MilvusIndex(str(path))
    for video in tqdm(range(rows // WINDOWS_PER_VIDEO), desc=f"writing {rows:,} rows"):
        picks = source[rng.integers(len(source), size=WINDOWS_PER_VIDEO)]
        noisy = picks + rng.normal(0, NOISE, size=picks.shape).astype(np.float32)
        windows = [WindowRow(index, float(index), float(index + 1), vector) for index, vector in enumerate(noisy)]
        await index.replace_video(spec, f"video-{video:06d}", windows, {})
        if video % SEAL_EVERY == SEAL_EVERY - 1:
            await index.seal(spec)  # as IndexVideos does once per call: Lite's deletes scan unflushed rows
    await index.seal(spec)
    await index.close()


def _diagnose(repository: Path, index_path: Path, scratch: Path, max_rows: int | None) -> tuple[IndexDiagnosis, float, dict[str, float]]:
    environment = {"JEPA_INDEX_URI": str(index_path), **({"JEPA_DIAGNOSTICS_MAX_ROWS": str(max_rows)} if max_rows else {})}
    with ServedStack(repository, scratch / "logs", environment) as stack, Client(stack.gateway_address) as client:
        started = time.perf_counter()
        diagnosis = analyze(client, AnalyzeOptions())
        return diagnosis, time.perf_counter() - started, stack.peak_rss_mib()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repository", type=Path, required=True, help="a VL-JEPA repository (jepa-export --vljepa models/vljepa-demo)")
    parser.add_argument("--scratch", type=Path, default=DEFAULT_SCRATCH)
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--sampled-ceiling", type=int, default=SAMPLED_CEILING, help="diagnostics_max_rows of the extra run on the largest size")
    parser.add_argument("--results", type=Path, default=DEFAULT_RESULTS)
    args = parser.parse_args(argv)
    args.scratch.mkdir(parents=True, exist_ok=True)
    load_at_start = load_average()
    source, spec = _source_windows(args.repository, Path("benchmarks/.cache/diagnostics/media"), args.scratch)
    runs = []
    plan = [(rows, None) for rows in args.sizes] + [(max(args.sizes), args.sampled_ceiling)]
    index_paths: dict[int, Path] = {}
    for rows, ceiling in plan:
        if rows not in index_paths:
            index_paths[rows] = args.scratch / f"index-{rows}-{time.time_ns()}.db"
            asyncio.run(_fill(index_paths[rows], spec, source, rows, seed=rows))
        diagnosis, seconds, peak_rss = _diagnose(args.repository, index_paths[rows], args.scratch, ceiling)
        runs.append({
            "diagnostics_max_rows": ceiling or "default (50,000)", "rows": diagnosis.rows_total, "rows_analyzed": diagnosis.rows_analyzed, "sampled": diagnosis.sampled, "seconds": round(seconds, 1),
            "server_seconds": round(diagnosis.seconds, 1), "gateway_peak_rss_mib": peak_rss.get("gateway"), "clusters": len(diagnosis.clusters),
            "duplicate_groups": len(diagnosis.duplicates), "notes": list(diagnosis.notes),
        })
        print(json.dumps(runs[-1]))
    results = {
        "runs": runs, "windows_per_video": WINDOWS_PER_VIDEO, "noise_std": NOISE, "load_average_start": load_at_start, "load_average_end": load_average(),
        "command": shlex.join(["python", "-m", "benchmarks.diagnostics_scale", *(sys.argv[1:] if argv is None else argv)]),
    }
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {args.results}")


if __name__ == "__main__":
    main()

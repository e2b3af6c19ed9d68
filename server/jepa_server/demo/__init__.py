"""`jepa-serve demo`: the product end to end on the VL-JEPA demo: a local Triton and a gateway on
a fresh index, then a client that indexes the demo videos, searches them by text and captions
multi-event videos, printing what it finds and how right it is."""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

from pydantic import BaseModel, ValidationError

from jepa_client import AsyncClient
from jepa_server.app import Gateway, wait_for_stop_signal
from jepa_server.demo.evaluate import DescribeResults, MomentResults, RetrievalResults, index_media, judge_captions, judge_moments, judge_retrieval
from jepa_server.demo.media import DemoMedia, load_demo_media
from jepa_server.settings import Settings
from jepa_server.triton_local import LocalTriton, LocalTritonOptions, TritonStartupError

SHOWN_QUERIES = 3
READY_TIMEOUT_S = 300.0


class DemoResults(BaseModel):
    index_seconds: float
    videos_indexed: int
    retrieval: RetrievalResults
    moments: MomentResults
    describe: DescribeResults


def _print_retrieval(results: RetrievalResults) -> None:
    for query in results.shown:
        print(f"\n{query.text!r}")
        for rank, hit in enumerate(query.hits, 1):
            moment = f"  moment {hit.moment_seconds[0]:.2f}-{hit.moment_seconds[1]:.2f} s" if hit.moment_seconds else ""
            print(f"  {rank}. {hit.video_id}  score {hit.score:.4f}  window {hit.window_seconds[0]:.2f}-{hit.window_seconds[1]:.2f} s{moment}")
    print(
        f"\nheld-out R@1 {results.r_at_1:.3f}, R@5 {results.r_at_5:.3f} over {results.queries} captions and "
        f"{results.gallery_videos} videos (search p50 {results.search_latency_ms_p50:.0f} ms)"
    )


def _print_moments(results: MomentResults) -> None:
    print(f"\nmoments in {results.shown_video}:")
    for found in results.shown:
        print(f"  {found.caption!r}: true {found.true_seconds[0]:.2f}-{found.true_seconds[1]:.2f} s, found {found.found_seconds[0]:.2f}-{found.found_seconds[1]:.2f} s")
    print(f"moments: IoU >= 0.5 for {results.iou50_rate:.1%} of {results.events} events (mean IoU {results.mean_iou:.2f})")


def _print_captions(results: DescribeResults) -> None:
    print(f"\ncaptions of {results.shown_video}:")
    print("  truth:     " + " | ".join(results.truth))
    print("  selective: " + " | ".join(results.selective))
    reduction = results.decoder_calls_uniform / max(1, results.decoder_calls_selective)
    print(
        f"captioning {results.videos} videos: decoder calls selective {results.decoder_calls_selective} vs uniform "
        f"{results.decoder_calls_uniform} ({reduction:.2f}x fewer); accuracy selective {results.accuracy_selective:.3f} "
        f"vs uniform {results.accuracy_uniform:.3f}"
    )


async def _run(settings: Settings, media: DemoMedia, folder: Path, serve: bool) -> DemoResults:
    gateway = Gateway(settings)
    await gateway.start()
    try:
        if gateway.http:
            print(f"search page: http://127.0.0.1:{gateway.http_port}/ (while the demo runs; `jepa-serve demo --serve` keeps it up)", flush=True)
        await asyncio.wait_for(gateway.ready.wait(), READY_TIMEOUT_S)
        async with AsyncClient(f"127.0.0.1:{gateway.port}") as client:
            index_seconds = await index_media(client, media)
            videos = len(media.gallery) + len(media.event_videos)
            print(f"indexed {videos} videos in {index_seconds:.1f} s ({len(media.gallery)} gallery clips, {len(media.event_videos)} multi-event videos)")
            retrieval = await judge_retrieval(client, media, SHOWN_QUERIES)
            _print_retrieval(retrieval)
            moments = await judge_moments(client, media)
            _print_moments(moments)
            describe = await judge_captions(client, media, folder)
            _print_captions(describe)
        if serve:
            print(f"\nserving the demo index until Ctrl-C: search page http://127.0.0.1:{gateway.http_port}/, gRPC 127.0.0.1:{gateway.port}", flush=True)
            await wait_for_stop_signal()
    finally:
        await gateway.stop(1.0)
    return DemoResults(index_seconds=index_seconds, videos_indexed=videos, retrieval=retrieval, moments=moments, describe=describe)


def run_demo(repository: Path, media_folder: Path, settings: Settings, results_file: Path | None = None, serve: bool = False) -> int:
    """0 when the demo ran through; 1 with one line on stderr when it could not. The gateway takes
    `settings` (its HTTP port, log level) on a fresh index, with the demo media as its media root."""
    try:
        media = load_demo_media(media_folder)
    except (OSError, ValidationError) as error:
        print(f"jepa-serve demo: {media_folder}: not demo media ({error}); write it with `jepa-export demo-media --out {media_folder}`", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="jepa-demo-") as scratch:
        settings = settings.model_copy(update={
            "port": 0, "metrics_port": None, "model_repository": repository, "index_uri": str(Path(scratch) / "index.db"),
            "decode_workers": 2, "media_roots": [media_folder.resolve()],
        })
        try:
            with LocalTriton(LocalTritonOptions(repository=repository)) as triton:
                results = asyncio.run(_run(settings.model_copy(update={"triton_url": triton.grpc_url}), media, media_folder, serve))
        except TritonStartupError as error:
            print(f"jepa-serve demo: {repository} does not load: {error}", file=sys.stderr)
            return 1
    if results_file is not None:
        results_file.parent.mkdir(parents=True, exist_ok=True)
        results_file.write_text(results.model_dump_json(indent=2) + "\n")
        print(f"wrote {results_file}")
    return 0

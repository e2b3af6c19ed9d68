"""Served text-to-video retrieval: the VL-JEPA demo's held-out gallery indexed and searched through
the gateway with the SDK, as a user of the service would.

- Gallery: `heldout_gallery` of `jepa_export.demo` (every class `clips_per_class` times), indexed
  twice: as the rendered frames (the pixels the offline evaluation sees) and as H.264 mp4 files (what
  users send). `template_r_at_1`: for every canonical caption, the top video of the frames gallery
  is of its class (the protocol of `jepa_export.vljepa.evaluate`, whose offline number it should
  match within 0.01; `offline_template_r_at_1` is copied from its results file when present);
  `template_r_at_1_h264` the same over the mp4 gallery.
- Moments: multi-event mp4 videos (several classes one after another, known boundaries), windows
  every half window. For every event, its caption searched within its video (`video_id == ...`,
  moments on) must return a moment whose IoU with the true event is at least 0.5: `moment_iou50_rate`.

Needs a repository in which the video model (`vljepa_video`) and the text model share one embedding
space. Either an already running gateway (`--address`) or, with `--repository`, `jepa-serve triton`
and `jepa-serve serve` started here on a fresh index:

    python -m benchmarks.retrieval_served --repository artifacts/vljepa/repository/cpu --checkpoint models/vljepa-demo
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from pydantic import BaseModel

from benchmarks.processes import add_gateway_target, served_client
from jepa_client import Client, IndexItem, SearchHit
from jepa_export.demo import ALL_CLASSES, MultiEventSettings, MultiEventVideo, RenderSettings, canonical_captions, generate_multi_event_video, heldout_gallery, write_mp4
from jepa_export.vljepa.config import CONFIG_FILE, Preprocessing, VLJepaConfig

DEFAULT_RESULTS = Path("benchmarks/results/retrieval_served.json")
OFFLINE_RESULTS = Path("benchmarks/results/vljepa_eval.json")
DEMO_FPS = 8.0
GALLERIES = {"frames": "clip", "h264": "clip_h264"}  # gallery -> metadata kind


class ServedEvalSettings(BaseModel):
    checkpoint: Path = Path("models/vljepa-demo")
    clips_per_class: int = 10  # as the offline evaluation: 48 classes x 10 = 480 clips
    multi_event_videos: int = 12
    video_model: str = ""  # "" = the server's default (a video_pipeline such as vljepa_video first)
    text_model: str = ""
    batch: int = 32  # videos per IndexVideos call
    # Frames between window starts in the multi-event videos; None = half a window, which places
    # moment boundaries every half window.
    event_window_stride: int | None = None
    show_queries: int = 3  # ranked results printed for this many captions


def interval_iou(first: tuple[float, float], second: tuple[float, float]) -> float:
    overlap = max(0.0, min(first[1], second[1]) - max(first[0], second[0]))
    union = max(first[1], second[1]) - min(first[0], second[0])
    return overlap / union if union > 0 else 0.0


def gallery_items(folder: Path, preprocessing: Preprocessing, clips_per_class: int) -> list[IndexItem]:
    """Each held-out clip twice: its frames (kind "clip") and an mp4 of them (kind "clip_h264")."""
    render = RenderSettings(frames_per_clip=preprocessing.frames_per_clip, frame_size=preprocessing.crop_size)
    gallery = heldout_gallery(clips_per_class=clips_per_class, settings=render)
    items = []
    for position, (frames, class_index) in enumerate(zip(gallery.frames, gallery.class_indices)):
        caption = ALL_CLASSES[class_index].caption()
        name = f"{position:04d}_{caption.replace(' ', '_')}.mp4"
        metadata = {"class": int(class_index), "caption": caption}
        items.append(IndexItem(f"gallery/{name}", frames, frames_fps=DEMO_FPS, metadata={**metadata, "kind": GALLERIES["frames"]}))
        mp4 = write_mp4(frames, folder / "gallery" / name, fps=DEMO_FPS)
        items.append(IndexItem(f"gallery-h264/{name}", mp4, metadata={**metadata, "kind": GALLERIES["h264"]}))
    return items


def multi_event_videos(folder: Path, preprocessing: Preprocessing, count: int) -> list[tuple[IndexItem, MultiEventVideo]]:
    render = RenderSettings(frames_per_clip=preprocessing.frames_per_clip, frame_size=preprocessing.crop_size)
    videos = []
    for seed in range(count):
        video = generate_multi_event_video("heldout", 10_000 + seed, MultiEventSettings(fps=DEMO_FPS), render)
        path = write_mp4(video.frames, folder / "events" / f"events_{seed:02d}.mp4", fps=video.fps)
        captions = [event.caption for event in video.events]
        videos.append((IndexItem(f"events/{path.name}", path, metadata={"kind": "multi_event", "captions": captions}), video))
    return videos


def index_all(client: Client, items: list[IndexItem], settings: ServedEvalSettings, window_stride: int = 0) -> float:
    """Index in calls of `batch` videos; returns the seconds it took. Any failed item fails the run."""
    started = time.perf_counter()
    for start in range(0, len(items), settings.batch):
        report = client.index_videos(items[start : start + settings.batch], model=settings.video_model, window_stride=window_stride)
        if report.failed:
            failure = report.failed[0]
            raise RuntimeError(f"indexing {failure.id} failed: {failure.code.name}: {failure.error}")
    return time.perf_counter() - started


def describe(hit: SearchHit) -> str:
    moment = f"  moment {hit.moment[0]:.2f}-{hit.moment[1]:.2f} s" if hit.moment else ""
    return f"{hit.video_id}  score {hit.score:.4f}  window {hit.start_seconds:.2f}-{hit.end_seconds:.2f} s{moment}"


def template_retrieval(client: Client, settings: ServedEvalSettings, kind: str, latencies: list[float], show: bool) -> tuple[float, float]:
    """R@1 and R@5 of the canonical captions over the gallery of one kind."""
    top1, top5 = [], []
    for class_index, caption in enumerate(canonical_captions()):
        started = time.perf_counter()
        results = client.search(caption, top_k=5, filter=f'metadata["kind"] == "{kind}"', model=settings.video_model, text_model=settings.text_model)
        latencies.append(time.perf_counter() - started)
        classes = [hit.metadata["class"] for hit in results.hits]
        top1.append(classes[:1] == [class_index])
        top5.append(class_index in classes)
        if show and class_index < settings.show_queries:
            print(f"\n{caption!r}")
            for rank, hit in enumerate(results.hits, 1):
                print(f"  {rank}. {describe(hit)}")
    return sum(top1) / len(top1), sum(top5) / len(top5)


def evaluate(client: Client, settings: ServedEvalSettings, scratch: Path) -> dict:
    config = VLJepaConfig.model_validate_json((settings.checkpoint / CONFIG_FILE).read_text())
    clips = gallery_items(scratch, config.preprocessing, settings.clips_per_class)
    events = multi_event_videos(scratch, config.preprocessing, settings.multi_event_videos)
    event_window_stride = settings.event_window_stride if settings.event_window_stride is not None else config.preprocessing.frames_per_clip // 2
    ingest_seconds = index_all(client, clips, settings)
    ingest_seconds += index_all(client, [item for item, _ in events], settings, event_window_stride)
    stats = client.index_stats(model=settings.video_model)

    latencies: list[float] = []
    r_at_1, r_at_5 = template_retrieval(client, settings, GALLERIES["frames"], latencies, show=True)
    r_at_1_h264, r_at_5_h264 = template_retrieval(client, settings, GALLERIES["h264"], latencies, show=False)

    ious = []
    for position, (item, video) in enumerate(events):
        if position == 0:
            print(f"\nmoments in {item.id}:")
        for event in video.events:
            hit = client.search(
                event.caption, top_k=1, filter=f'video_id == "{item.id}"', model=settings.video_model, text_model=settings.text_model, moments=True
            ).hits[0]
            if hit.moment is None:
                raise ValueError(f"search: no moment for {item.id} although moments=True was asked")
            ious.append(interval_iou(hit.moment, (event.start_seconds, event.end_seconds)))
            if position == 0:
                print(f"  {event.caption!r}: true {event.start_seconds:.2f}-{event.end_seconds:.2f} s, found {hit.moment[0]:.2f}-{hit.moment[1]:.2f} s")

    offline = json.loads(OFFLINE_RESULTS.read_text()).get("backends", {}).get("torch", {}) if OFFLINE_RESULTS.is_file() else {}
    return {
        "template_r_at_1": r_at_1,
        "template_r_at_5": r_at_5,
        "template_r_at_1_h264": r_at_1_h264,
        "template_r_at_5_h264": r_at_5_h264,
        "template_queries": len(canonical_captions()),
        "offline_template_r_at_1": offline.get("template_r_at_1"),
        "gallery_clips": len(clips) // 2,
        "moment_iou50_rate": sum(iou >= 0.5 for iou in ious) / len(ious),
        "moment_mean_iou": statistics.fmean(ious),
        "moment_queries": len(ious),
        "multi_event_videos": len(events),
        "ingest_videos_per_s": (len(clips) + len(events)) / ingest_seconds,
        "text_search_latency_ms_p50": 1000 * statistics.median(latencies),
        "index": {"backend": stats.backend, "index_type": stats.index_type, "collection": stats.collection, "rows": stats.rows, "videos": stats.videos},
        "video_model": stats.model.name,
        "embedding_space": stats.model.embedding_space,
        "checkpoint": str(settings.checkpoint),
        "event_window_stride": event_window_stride,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_gateway_target(parser)
    parser.add_argument("--checkpoint", type=Path, default=ServedEvalSettings().checkpoint, help="for the clip geometry (config.json)")
    parser.add_argument("--clips-per-class", type=int, default=ServedEvalSettings().clips_per_class)
    parser.add_argument("--multi-event-videos", type=int, default=ServedEvalSettings().multi_event_videos)
    parser.add_argument("--video-model", default="")
    parser.add_argument("--text-model", default="")
    parser.add_argument("--event-window-stride", type=int, help="frames between window starts in multi-event videos (default: half a window)")
    parser.add_argument("--results", type=Path, default=DEFAULT_RESULTS)
    args = parser.parse_args(argv)
    settings = ServedEvalSettings(
        checkpoint=args.checkpoint, clips_per_class=args.clips_per_class, multi_event_videos=args.multi_event_videos,
        video_model=args.video_model, text_model=args.text_model, event_window_stride=args.event_window_stride,
    )
    with tempfile.TemporaryDirectory(prefix="retrieval-served-") as scratch, served_client(args.address, args.repository, Path(scratch)) as client:
        results = evaluate(client, settings, Path(scratch))
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    offline = results["offline_template_r_at_1"]
    versus = f" (offline {offline:.3f})" if offline is not None else ""
    print(f"\nheld-out template R@1 {results['template_r_at_1']:.3f}{versus}, R@5 {results['template_r_at_5']:.3f} over {results['gallery_clips']} clips")
    print(f"the same clips as H.264 files: R@1 {results['template_r_at_1_h264']:.3f}, R@5 {results['template_r_at_5_h264']:.3f}")
    print(f"moments: IoU >= 0.5 for {results['moment_iou50_rate']:.1%} of {results['moment_queries']} events (mean IoU {results['moment_mean_iou']:.2f})")
    print(f"wrote {args.results}")


if __name__ == "__main__":
    main()

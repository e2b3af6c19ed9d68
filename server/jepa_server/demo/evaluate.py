"""The demo's judgement of a served VL-JEPA, made through the SDK as any client would: search the
gallery by its captions (R@1, R@5), find every event of the multi-event videos as a moment (IoU),
and caption those videos selectively and uniformly (accuracy, decoder calls)."""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path

from pydantic import BaseModel

from jepa_client import AsyncClient, Caption, IndexItem
from jepa_server.demo.media import DemoMedia, EventVideo

GALLERY, EVENTS = "gallery", "events"  # metadata["kind"] of the indexed videos
INDEX_BATCH = 32  # videos per IndexVideos call
TOP_K = 5


class RankedHit(BaseModel):
    video_id: str
    score: float
    window_seconds: tuple[float, float]
    moment_seconds: tuple[float, float] | None


class RankedQuery(BaseModel):
    text: str
    hits: list[RankedHit]


class RetrievalResults(BaseModel):
    r_at_1: float
    r_at_5: float
    queries: int
    gallery_videos: int
    search_latency_ms_p50: float
    shown: list[RankedQuery]


class FoundMoment(BaseModel):
    caption: str
    true_seconds: tuple[float, float]
    found_seconds: tuple[float, float]


class MomentResults(BaseModel):
    iou50_rate: float
    mean_iou: float
    events: int
    shown_video: str
    shown: list[FoundMoment]


class DescribeResults(BaseModel):
    videos: int
    decoder_calls_selective: int
    decoder_calls_uniform: int
    accuracy_selective: float
    accuracy_uniform: float
    shown_video: str
    truth: list[str]
    selective: list[str]


def _timeline(spans: list[tuple[float, float, str]]) -> list[str]:
    return [f"{start:.1f}-{end:.1f} {text}" for start, end, text in spans]


async def index_media(client: AsyncClient, media: DemoMedia) -> float:
    """Index the gallery and the multi-event videos; the seconds it took. A failed video fails the demo."""
    started = time.perf_counter()
    # By URI under the media root: the gateway reads the files itself, and the search page can play them.
    gallery = [IndexItem(video.file, uri=video.file, metadata={**video.metadata, "kind": GALLERY}) for video in media.gallery]
    events = [IndexItem(video.file, uri=video.file, metadata={"kind": EVENTS}) for video in media.event_videos]
    for items, window_stride in ((gallery, 0), (events, media.event_window_stride)):
        for start in range(0, len(items), INDEX_BATCH):
            report = await client.index_videos(items[start : start + INDEX_BATCH], window_stride=window_stride)
            if report.failed:
                failure = report.failed[0]
                raise RuntimeError(f"indexing {failure.id} failed: {failure.code.name}: {failure.error}")
    return time.perf_counter() - started


async def judge_retrieval(client: AsyncClient, media: DemoMedia, show: int) -> RetrievalResults:
    """Every query searched over the gallery: is a video of its label first (R@1), in the top 5 (R@5)?"""
    top1, top5, latencies, shown = [], [], [], []
    for position, query in enumerate(media.queries):
        started = time.perf_counter()
        results = await client.search(query.text, top_k=TOP_K, filter=f'metadata["kind"] == "{GALLERY}"', moments=True)
        latencies.append(time.perf_counter() - started)
        labels = [hit.metadata.get("label") for hit in results.hits]
        top1.append(labels[:1] == [query.label])
        top5.append(query.label in labels)
        if position < show:
            hits = [RankedHit(video_id=hit.video_id, score=hit.score, window_seconds=(hit.start_seconds, hit.end_seconds), moment_seconds=hit.moment) for hit in results.hits]
            shown.append(RankedQuery(text=query.text, hits=hits))
    return RetrievalResults(
        r_at_1=statistics.fmean(top1), r_at_5=statistics.fmean(top5), queries=len(media.queries), gallery_videos=len(media.gallery),
        search_latency_ms_p50=1000 * statistics.median(latencies), shown=shown,
    )


def interval_iou(first: tuple[float, float], second: tuple[float, float]) -> float:
    overlap = max(0.0, min(first[1], second[1]) - max(first[0], second[0]))
    union = max(first[1], second[1]) - min(first[0], second[0])
    return overlap / union if union > 0 else 0.0


async def judge_moments(client: AsyncClient, media: DemoMedia) -> MomentResults:
    """Every event's caption searched within its own video: does the moment found cover the event?"""
    ious, shown = [], []
    for position, video in enumerate(media.event_videos):
        for event in video.events:
            results = await client.search(event.caption, top_k=1, filter=f"video_id == {json.dumps(video.file)}", moments=True)
            found = results.hits[0].moment or (0.0, 0.0)
            truth = (event.start_seconds, event.end_seconds)
            ious.append(interval_iou(found, truth))
            if position == 0:
                shown.append(FoundMoment(caption=event.caption, true_seconds=truth, found_seconds=found))
    return MomentResults(
        iou50_rate=statistics.fmean(iou >= 0.5 for iou in ious), mean_iou=statistics.fmean(ious), events=len(ious),
        shown_video=media.event_videos[0].file, shown=shown,
    )


def correct_frames(video: EventVideo, captions: list[Caption]) -> int:
    """Frames whose covering caption names the event they show."""
    correct = 0
    for frame_index in range(video.frames):
        seconds = (frame_index + 0.5) / video.fps
        caption = next((caption for caption in captions if caption.start_seconds <= seconds < caption.end_seconds), None)
        event = video.event_at(seconds)
        correct += caption is not None and event is not None and event.named_in(caption.text)
    return correct


async def judge_captions(client: AsyncClient, media: DemoMedia, folder: Path) -> DescribeResults:
    """Selective decoding (once per segment of constant meaning) against uniform (once per window)."""
    videos = media.event_videos[: media.describe_videos]
    calls = {"selective": 0, "uniform": 0}
    correct = {"selective": 0, "uniform": 0}
    first: dict[str, list[Caption]] = {}
    for video in videos:
        for mode in calls:
            captions = [caption async for caption in client.describe(folder / video.file, mode=mode)]
            calls[mode] += len(captions)
            correct[mode] += correct_frames(video, captions)
            first.setdefault(mode, captions)
    frames = sum(video.frames for video in videos)
    return DescribeResults(
        videos=len(videos), decoder_calls_selective=calls["selective"], decoder_calls_uniform=calls["uniform"],
        accuracy_selective=correct["selective"] / frames, accuracy_uniform=correct["uniform"] / frames, shown_video=videos[0].file,
        truth=_timeline([(event.start_seconds, event.end_seconds, event.caption) for event in videos[0].events]),
        selective=_timeline([(caption.start_seconds, caption.end_seconds, caption.text) for caption in first["selective"]]),
    )

"""`make run`'s two commands on a tiny VL-JEPA: `jepa-export demo-media` writes the demo's videos
and ground truth as files, and `jepa-serve demo` reads them (without importing the export stage),
serves the model, indexes, searches and captions, and reports how right it was."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jepa_export.__main__ import main as jepa_export
from jepa_server.cli import main as jepa_serve
from jepa_server.demo.media import load_demo_media

EVENT_VIDEOS = 2


@pytest.fixture(scope="module")
def demo_media(tiny_vljepa_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("demo-media")
    arguments = ["--checkpoint", str(tiny_vljepa_dir), "--out", str(folder), "--clips-per-class", "1", "--event-videos", str(EVENT_VIDEOS), "--describe-videos", "1"]
    assert jepa_export(["demo-media", *arguments]) == 0
    return folder


def test_the_export_stage_writes_demo_media_the_server_side_reads(demo_media: Path) -> None:
    media = load_demo_media(demo_media)
    assert len(media.gallery) == len(media.queries) == 48  # every class once
    assert {video.metadata["label"] for video in media.gallery} == {query.label for query in media.queries}
    assert all((demo_media / video.file).stat().st_size > 0 for video in [*media.gallery, *media.event_videos])
    assert (len(media.event_videos), media.describe_videos, media.event_window_stride) == (EVENT_VIDEOS, 1, 2)
    for video in media.event_videos:
        starts, ends = [event.start_seconds for event in video.events], [event.end_seconds for event in video.events]
        assert starts[0] == 0 and starts[1:] == ends[:-1] and ends[-1] == pytest.approx(video.frames / video.fps)
        assert all(len(event.words) == 3 and event.named_in(event.caption) for event in video.events)


def test_jepa_serve_demo_indexes_searches_and_captions_the_demo_media(vljepa_repository: Path, demo_media: Path, tmp_path: Path, capsys) -> None:
    results_file = tmp_path / "demo.json"
    assert jepa_serve(["demo", "--repository", str(vljepa_repository), "--media", str(demo_media), "--results", str(results_file)]) == 0
    out = capsys.readouterr().out
    assert f"indexed {48 + EVENT_VIDEOS} videos" in out
    assert "'a red circle moving left'\n  1. gallery/" in out and "moment " in out
    assert "held-out R@1 " in out and "moments: IoU >= 0.5 for " in out and "captioning 1 videos: decoder calls selective " in out
    results = json.loads(results_file.read_text())
    assert results["videos_indexed"] == 48 + EVENT_VIDEOS
    assert results["retrieval"]["queries"] == 48 and 0 <= results["retrieval"]["r_at_1"] <= results["retrieval"]["r_at_5"] <= 1
    media = load_demo_media(demo_media)
    assert results["moments"]["events"] == sum(len(video.events) for video in media.event_videos)
    # Uniform decoding captions every window, selective at most as many.
    assert 1 <= results["describe"]["decoder_calls_selective"] <= results["describe"]["decoder_calls_uniform"]


def test_jepa_serve_demo_without_demo_media_says_how_to_make_it(vljepa_repository: Path, tmp_path: Path, capsys) -> None:
    assert jepa_serve(["demo", "--repository", str(vljepa_repository), "--media", str(tmp_path)]) == 1
    assert "jepa-export demo-media" in capsys.readouterr().err

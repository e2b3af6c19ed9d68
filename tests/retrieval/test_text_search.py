"""Text search where the video and text models share a space (see conftest: `pooled_video`), and
the served evaluation script run end to end against it."""

from __future__ import annotations

import json

import numpy as np
import pytest

from benchmarks.retrieval_served import ServedEvalSettings, evaluate, interval_iou
from jepa_client import Client, IndexItem
from jepa_export.vljepa.config import CONFIG_FILE, VLJepaConfig, YDecoderConfig
from support.media import moving_bar_frames


@pytest.fixture()
def shared_client(shared_space_gateway):
    with Client(shared_space_gateway.address) as connected:
        yield connected


def test_text_search_scores_are_the_best_window_cosine_of_the_text(shared_client):
    videos = {f"text/{seed}": moving_bar_frames(24, seed=seed) for seed in (1, 2, 3)}
    assert all(item.ok for item in shared_client.index_videos(IndexItem(video_id, frames, frames_fps=8) for video_id, frames in videos.items()).items)
    text = "a red bar sliding right"
    query = shared_client.embed_text(text).embeddings[0]
    expected = {
        video_id: max(float(window.embedding @ query) for window in shared_client.embed_video(frames, frames_fps=8, return_windows=True).windows)
        for video_id, frames in videos.items()
    }
    results = shared_client.search(text, top_k=3, filter='video_id like "text/%"')
    assert results.model.name == "pooled_video"
    assert [hit.video_id for hit in results.hits] == sorted(expected, key=expected.get, reverse=True)
    for hit in results.hits:
        assert hit.score == pytest.approx(expected[hit.video_id], abs=1e-4)


def test_empty_text_is_invalid_argument_naming_text(shared_client):
    from jepa_client import InvalidArgumentError

    with pytest.raises(InvalidArgumentError, match="^INVALID_ARGUMENT: text: empty text$"):
        shared_client.search("  ")


def test_interval_iou():
    assert interval_iou((0.0, 2.0), (1.0, 3.0)) == pytest.approx(1 / 3)
    assert interval_iou((0.0, 1.0), (2.0, 3.0)) == 0.0
    assert interval_iou((1.0, 2.0), (1.0, 2.0)) == 1.0


def test_served_evaluation_runs_end_to_end_and_reports_every_metric(shared_client, tmp_path, capsys):
    checkpoint = tmp_path / "checkpoint"
    checkpoint.mkdir()
    config = VLJepaConfig(y_decoder=YDecoderConfig(vocabulary=["[PAD]", "[BOS]", "[EOS]"]))
    (checkpoint / CONFIG_FILE).write_text(config.model_dump_json())
    results = evaluate(shared_client, ServedEvalSettings(checkpoint=checkpoint, clips_per_class=1, multi_event_videos=2), tmp_path / "scratch")
    assert results["gallery_clips"] == 48 and results["template_queries"] == 48
    assert 0.0 <= results["template_r_at_1_h264"] <= results["template_r_at_5_h264"] <= 1.0
    assert results["multi_event_videos"] == 2 and results["moment_queries"] == 8
    for key in ("template_r_at_1", "template_r_at_5", "moment_iou50_rate", "moment_mean_iou"):
        assert 0.0 <= results[key] <= 1.0
    assert results["template_r_at_1"] <= results["template_r_at_5"]
    assert results["index"]["videos"] >= 98 and results["video_model"] == "pooled_video"
    json.dumps(results)  # what main() writes
    assert "moments in events/events_00.mp4:" in capsys.readouterr().out
    assert np.isfinite(results["text_search_latency_ms_p50"])

"""Moments: the segment of constant meaning around the best window."""

from __future__ import annotations

import uuid

import numpy as np
import pytest

from jepa_client import IndexItem
from jepa_server.core.retrieval import moment
from jepa_server.index.milvus import WindowRow
from support.media import moving_bar_frames

MEANINGS = {name: np.eye(3, dtype=np.float32)[index] for index, name in enumerate("abc")}


def windows_meaning(meanings: str) -> list[WindowRow]:
    """Windows of one second; window i has the embedding of meaning `meanings[i]` (a, b or c)."""
    return [WindowRow(index, float(index), float(index + 1), MEANINGS[name]) for index, name in enumerate(meanings)]


@pytest.mark.parametrize(
    ("meanings", "best", "expected"),
    [
        ("aabbbc", 3, (2.0, 5.0)),
        ("aabbbc", 0, (0.0, 2.0)),
        ("abcab", 2, (2.0, 3.0)),  # every window its own meaning: one window
        ("bbbb", 1, (0.0, 4.0)),  # one meaning: the whole video
        ("aabba", 4, (4.0, 5.0)),  # a meaning that returns later is another moment
    ],
)
def test_moment_is_the_segment_holding_the_best_window(meanings, best, expected):
    assert moment(windows_meaning(meanings), best, threshold=0.3) == pytest.approx(expected)


def test_moment_tolerates_window_noise_below_the_threshold_and_splits_above_it():
    windows = windows_meaning("aaabbb")
    noisy = [WindowRow(w.window_index, w.start_seconds, w.end_seconds, w.embedding + 0.2 * MEANINGS["c"]) if w.window_index == 1 else w for w in windows]
    assert moment(noisy, 0, threshold=0.3) == pytest.approx((0.0, 3.0))
    assert moment(noisy, 0, threshold=0.01) == pytest.approx((0.0, 1.0))


def test_moment_does_not_bridge_a_missing_window():
    windows = windows_meaning("bbbb")
    del windows[1]
    assert moment(windows, 2, threshold=0.3) == pytest.approx((2.0, 4.0))
    assert moment(windows, 0, threshold=0.3) == pytest.approx((0.0, 1.0))


def test_search_returns_the_moment_of_an_event_inside_a_longer_video(client):
    # The session model is random: two moving bars look alike to it, a bar and a grey screen do not.
    grey, event = np.full((16, 96, 128, 3), 128, np.uint8), moving_bar_frames(24, seed=202)
    video_id = f"events/{uuid.uuid4().hex[:8]}"
    report = client.index_videos([IndexItem(video_id, np.concatenate([grey, event, grey]), frames_fps=8)])
    assert report.items[0].num_windows == 7
    query = client.embed_video(event, frames_fps=8).embedding
    hit = client.search(embedding=query, top_k=1, filter=f'video_id == "{video_id}"', moments=True).hits[0]
    assert 2.0 <= hit.start_seconds and hit.end_seconds <= 5.0
    assert hit.moment == pytest.approx((2.0, 5.0))
    assert client.search(embedding=query, top_k=1, filter=f'video_id == "{video_id}"').hits[0].moment is None

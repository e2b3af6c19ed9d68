"""Moments: the adjacent windows around the best one that match nearly as well."""

from __future__ import annotations

import uuid

import numpy as np
import pytest

from jepa_client import IndexItem
from jepa_server.core.retrieval import moment
from jepa_server.index.milvus import WindowRow
from support.media import moving_bar_frames


def windows_scoring(scores: list[float]) -> list[WindowRow]:
    """Unit windows of one second whose cosine with the query [1, 0] is the given score."""
    return [
        WindowRow(index, float(index), float(index + 1), np.array([score, np.sqrt(1 - score**2)], np.float32))
        for index, score in enumerate(scores)
    ]


@pytest.mark.parametrize(
    ("scores", "best", "expected"),
    [
        ([0.1, 0.9, 1.0, 0.8, 0.2, 0.95], 2, (1.0, 4.0)),  # the run stops at the dip; 0.95 is not adjacent
        ([0.5], 0, (0.0, 1.0)),
        ([0.7, 0.7, 0.7], 1, (0.0, 3.0)),  # all alike: the whole video
        ([1.0, 0.0, 0.56], 0, (0.0, 1.0)),
    ],
)
def test_moment_is_the_run_of_windows_above_half_maximum(scores, best, expected):
    assert moment(windows_scoring(scores), np.array([1.0, 0.0], np.float32), best) == pytest.approx(expected)


def test_moment_does_not_bridge_a_missing_window():
    windows = windows_scoring([0.9, 1.0, 0.9])
    del windows[0]
    windows = [WindowRow(0, 0.0, 1.0, np.array([0.9, np.sqrt(0.19)], np.float32)), *windows[1:]]
    assert moment(windows, np.array([1.0, 0.0], np.float32), 2) == pytest.approx((2.0, 3.0))


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

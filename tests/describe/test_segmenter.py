"""Segmenters find the points where a stream of window embeddings changes meaning."""

import numpy as np
import pytest

from jepa_server.core.segmenter import OnlineSegmenter, segment_offline


def event_stream(lengths: list[int], dimension: int = 16, noise: float = 0.05, seed: int = 0) -> np.ndarray:
    """Windows of consecutive events: each event a random direction plus per-window noise."""
    rng = np.random.default_rng(seed)
    windows = []
    for length in lengths:
        direction = rng.normal(size=dimension)
        direction /= np.linalg.norm(direction)
        for _ in range(length):
            vector = direction + noise * rng.normal(size=dimension)
            windows.append(vector / np.linalg.norm(vector))
    return np.stack(windows)


def boundaries(segments) -> list[int]:
    return [segment.first_window for segment in segments[1:]]


def spans(segments) -> list[tuple[int, int]]:
    return [(segment.first_window, segment.last_window) for segment in segments]


def online_segments(stream: np.ndarray, **settings) -> list[tuple[int, int]]:
    segmenter = OnlineSegmenter(**settings)
    closed = [s for i, v in enumerate(stream) if (s := segmenter.push(i, v)) is not None]
    closed.append(segmenter.finish())
    return spans(closed)


def test_online_segmenter_starts_a_segment_at_each_event_change():
    assert online_segments(event_stream([4, 3, 5]), threshold=0.3) == [(0, 3), (4, 6), (7, 11)]


def test_online_segmenter_honours_the_minimum_segment_length():
    stream = event_stream([1, 4, 4])
    # Without a minimum the one-window event is a segment of its own...
    assert online_segments(stream, threshold=0.3) == [(0, 0), (1, 4), (5, 8)]
    # ...with three, it cannot close before its third window, so it runs on into the next event.
    assert online_segments(stream, threshold=0.3, min_windows=3) == [(0, 4), (5, 8)]


def test_offline_segmentation_recovers_event_boundaries():
    segments = segment_offline(event_stream([5, 2, 6, 3], seed=3), threshold=0.3)
    assert boundaries(segments) == [5, 7, 13]


def test_offline_segmentation_folds_short_segments_into_a_neighbour():
    stream = event_stream([5, 1, 6], seed=4)
    assert spans(segment_offline(stream, threshold=0.3)) == [(0, 4), (5, 5), (6, 11)]
    # The one-window event joins the neighbour it is closer to; nothing else changes.
    assert spans(segment_offline(stream, threshold=0.3, min_windows=2)) == [(0, 4), (5, 11)]


@pytest.mark.parametrize("threshold", [0.0, 2.0])
def test_threshold_extremes_give_one_segment_per_window_or_one_in_all(threshold):
    stream = event_stream([3, 3])
    expected = 6 if threshold == 0.0 else 1
    assert len(segment_offline(stream, threshold=threshold)) == expected


def test_segment_embedding_is_unit_length_mean():
    segments = segment_offline(event_stream([4]), threshold=0.5)
    assert np.linalg.norm(segments[0].embedding) == pytest.approx(1.0)

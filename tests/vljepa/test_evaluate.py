import numpy as np
import pytest

from jepa_export.vljepa.evaluate import retrieval_metrics


def test_perfect_embeddings_score_one_everywhere():
    classes = np.array([0, 0, 1, 1, 2])
    gallery = np.eye(3)[classes]
    metrics = retrieval_metrics(np.eye(3), np.arange(3), gallery, classes)
    assert (metrics.r_at_1, metrics.r_at_5, metrics.mean_average_precision) == (1.0, 1.0, 1.0)


def test_relevant_item_ranked_second_counts_for_r_at_5_and_half_precision():
    gallery = np.array([[1.0, 0.0], [0.8, 0.6]])
    metrics = retrieval_metrics(np.array([[1.0, 0.0]]), np.array([1]), gallery, np.array([0, 1]))
    assert metrics.r_at_1 == 0.0
    assert metrics.r_at_5 == 1.0
    assert metrics.mean_average_precision == pytest.approx(0.5)

import math

import torch
import torch.nn.functional as F

from jepa_export.vljepa.loss import class_aware_info_nce


def random_unit(rows: int, dim: int = 8, seed: int = 0) -> torch.Tensor:
    return F.normalize(torch.randn(rows, dim, generator=torch.Generator().manual_seed(seed)), dim=-1)


def test_swapping_videos_and_texts_gives_the_same_loss():
    videos, texts = random_unit(6, seed=1), random_unit(4, seed=2)
    video_classes, text_classes = torch.tensor([0, 1, 1, 2, 3, 3]), torch.tensor([0, 1, 2, 3])
    forward = class_aware_info_nce(videos, texts, video_classes, text_classes, 10.0)
    swapped = class_aware_info_nce(texts, videos, text_classes, video_classes, 10.0)
    assert torch.allclose(forward, swapped)


def test_clips_sharing_a_caption_are_all_positives():
    texts = torch.eye(3)
    video_classes = torch.tensor([0, 0, 1, 2, 2])
    videos = texts[video_classes]
    loss = class_aware_info_nce(videos, texts, video_classes, torch.arange(3), 50.0)
    # Plain InfoNCE with a diagonal target could not go below log(2) here: two clips per caption.
    assert loss < 1e-3
    assert loss < math.log(2) / 100


def test_matching_the_wrong_class_raises_the_loss():
    texts = torch.eye(3)
    aligned = class_aware_info_nce(texts, texts, torch.arange(3), torch.arange(3), 10.0)
    crossed = class_aware_info_nce(texts[[1, 0, 2]], texts, torch.arange(3), torch.arange(3), 10.0)
    assert crossed > aligned + 1


def test_rows_without_a_positive_are_left_out():
    texts = torch.eye(4)
    with_unmatched_text = class_aware_info_nce(texts[:2], texts, torch.arange(2), torch.arange(4), 10.0)
    assert torch.isfinite(with_unmatched_text)

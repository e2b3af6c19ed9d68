"""Bidirectional InfoNCE where every pair with the same class is a positive.

Demo clips share captions (one caption per class), so plain InfoNCE would push apart clips that
should match; here a row's positives are all columns of its class, and the loss is
-log(sum over positives / sum over all), averaged over rows that have a positive, both directions.
"""

from __future__ import annotations

import torch


def _rows_loss(logits: torch.Tensor, positives: torch.Tensor) -> torch.Tensor:
    log_all = torch.logsumexp(logits, dim=1)
    log_positive = torch.logsumexp(logits.masked_fill(~positives, float("-inf")), dim=1)
    has_positive = positives.any(dim=1)
    return (log_all - log_positive)[has_positive].mean()


def class_aware_info_nce(
    video_embeddings: torch.Tensor,
    text_embeddings: torch.Tensor,
    video_classes: torch.Tensor,
    text_classes: torch.Tensor,
    logit_scale: torch.Tensor | float,
) -> torch.Tensor:
    """Mean of the video->text and text->video losses; symmetric in (video, text)."""
    logits = logit_scale * video_embeddings @ text_embeddings.T
    positives = video_classes[:, None] == text_classes[None, :]
    return 0.5 * (_rows_loss(logits, positives) + _rows_loss(logits.T, positives.T))

"""The quality gate of lower precisions for a VL-JEPA checkpoint, end to end.

Per-model parity (cosine against PyTorch) cannot tell whether int8 or bf16 still retrieves the
right video or names the right event: small errors in four models compound. So every lower
precision is run as served — X-encoder -> predictor for videos, Y-encoder for texts, greedy
decoding for captions, each model's artifact through the runtime Triton's `model.py` uses — on the
held-out demo gallery (template R@1) and on windows of multi-event videos (caption accuracy), and
compared with the fp32 ONNX models on the same inputs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from jepa_export.report import QualityCheck
from jepa_export.repository import PRECISION_ARTIFACTS, Precision
from jepa_export.settings import ExportSettings
from jepa_export.triton_python_model import load_runtime
from jepa_export.vljepa.evaluate import demo_gallery, evaluate_backend, event_window_metrics
from jepa_export.vljepa.model import VLJepa, greedy_captions

# Artifact name (`onnx_int8`...) -> its file, per model, as the pipeline built them.
ArtifactFiles = dict[str, Path]
MODELS = ("vjepa2_encoder", "vljepa_predictor", "text_encoder", "text_decoder")
_BATCH = 32


class ServedVLJepa:
    """The four exported models, each from its artifact folder, behind `EmbeddingBackend`."""

    def __init__(self, model: VLJepa, folders: dict[str, Path]) -> None:
        self.model = model
        self.runtimes = {name: load_runtime(folder, {}) for name, folder in folders.items()}

    def _batched(self, name: str, output: str, feeds: dict[str, np.ndarray]) -> np.ndarray:
        rows = len(next(iter(feeds.values())))
        parts = [
            self.runtimes[name].run([output], {key: value[start : start + _BATCH] for key, value in feeds.items()})[0]
            for start in range(0, rows, _BATCH)
        ]
        return np.concatenate(parts)

    def embed_videos(self, pixel_values_videos: np.ndarray) -> np.ndarray:
        tokens = self._batched("vjepa2_encoder", "visual_tokens", {"pixel_values_videos": pixel_values_videos})
        return self._batched("vljepa_predictor", "video_embedding", {"visual_tokens": tokens})

    def embed_texts(self, texts: list[str]) -> np.ndarray:
        encoded = self.model.tokenize(texts)
        return self._batched("text_encoder", "text_embedding", {key: value.numpy() for key, value in encoded.items()})

    def caption(self, embeddings: np.ndarray) -> list[str]:
        def next_token_logits(embedding: torch.Tensor, token_ids: torch.Tensor) -> torch.Tensor:
            feeds = {"embedding": embedding.numpy(), "token_ids": token_ids.numpy()}
            return torch.from_numpy(self._batched("text_decoder", "next_token_logits", feeds))

        decoder = self.model.config.y_decoder
        return greedy_captions(next_token_logits, torch.from_numpy(embeddings), list(decoder.vocabulary), decoder.max_tokens)


def _metrics(backend: ServedVLJepa, model: VLJepa) -> tuple[float, float]:
    preprocessing = model.config.preprocessing
    retrieval = evaluate_backend(backend, demo_gallery(preprocessing), preprocessing)
    captions = event_window_metrics(backend, preprocessing)
    return retrieval["template_r_at_1"], captions["event_window_caption_accuracy"]


def quality_checks(model: VLJepa, files: dict[str, ArtifactFiles], settings: ExportSettings) -> list[QualityCheck]:
    """One check per lower precision built for any of the four models (the others run fp32 in it)."""
    lower: list[Precision] = [p for p, artifact in PRECISION_ARTIFACTS.items() if p != "fp32" and any(artifact in files[name] for name in MODELS)]
    if not lower:
        return []
    fp32 = {name: files[name]["onnx_fp32"].parent for name in MODELS}
    reference_r_at_1, reference_captions = _metrics(ServedVLJepa(model, fp32), model)
    checks = []
    for precision in lower:
        artifact = PRECISION_ARTIFACTS[precision]
        precisions: dict[str, Precision] = {name: precision if artifact in files[name] else "fp32" for name in MODELS}
        folders = {name: files[name][PRECISION_ARTIFACTS[precisions[name]]].parent for name in MODELS}
        r_at_1, captions = _metrics(ServedVLJepa(model, folders), model)
        checks.append(
            QualityCheck(
                precision=precision,
                model_precisions=precisions,
                r_at_1=r_at_1,
                reference_r_at_1=reference_r_at_1,
                caption_accuracy=captions,
                reference_caption_accuracy=reference_captions,
                max_r_at_1_loss=settings.quality_gate.max_r_at_1_loss,
                max_caption_accuracy_loss=settings.quality_gate.max_caption_accuracy_loss,
            )
        )
    return checks

"""Held-out evaluation of a VL-JEPA checkpoint: text->video retrieval and zero-shot classification.

A backend is anything with `embed_videos(pixels) -> (B, D)` and `embed_texts(texts) -> (B, D)`
numpy arrays (L2-normalised), so PyTorch and the exported ONNX models are measured by one code path.

    python -m jepa_export.vljepa.evaluate --checkpoint models/vljepa-demo
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Protocol

import numpy as np
import torch
from pydantic import BaseModel

from jepa_export.demo import (
    ALL_CLASSES,
    ClipBatch,
    MultiEventSettings,
    RenderSettings,
    canonical_captions,
    generate_multi_event_video,
    heldout_gallery,
)
from jepa_export.vljepa.config import Preprocessing
from jepa_export.vljepa.model import VLJepa, load_vljepa, normalise_pixels

DEFAULT_RESULTS = Path("benchmarks/results/vljepa_eval.json")
GALLERY_CLIPS_PER_CLASS = 10  # 48 classes x 10 = 480 held-out clips
EVENT_VIDEOS = 24
EVENT_VIDEO_FIRST_SEED = 30_000  # held-out multi-event seeds not used by the served evaluations


class EmbeddingBackend(Protocol):
    def embed_videos(self, pixel_values_videos: np.ndarray) -> np.ndarray: ...

    def embed_texts(self, texts: list[str]) -> np.ndarray: ...

    def caption(self, embeddings: np.ndarray) -> list[str]: ...


class TorchBackend:
    """The PyTorch model, batched."""

    def __init__(self, model: VLJepa, batch_size: int = 64) -> None:
        self.model = model.eval()
        self.batch_size = batch_size

    def embed_videos(self, pixel_values_videos: np.ndarray) -> np.ndarray:
        chunks = [
            self.model.embed_videos(torch.from_numpy(pixel_values_videos[start : start + self.batch_size]))
            for start in range(0, len(pixel_values_videos), self.batch_size)
        ]
        return torch.cat(chunks).numpy()

    def embed_texts(self, texts: list[str]) -> np.ndarray:
        return self.model.embed_texts(texts).numpy()

    def caption(self, embeddings: np.ndarray) -> list[str]:
        return self.model.caption(torch.from_numpy(embeddings))


class RetrievalMetrics(BaseModel):
    r_at_1: float
    r_at_5: float
    mean_average_precision: float
    queries: int


def retrieval_metrics(
    query_embeddings: np.ndarray,
    query_classes: np.ndarray,
    gallery_embeddings: np.ndarray,
    gallery_classes: np.ndarray,
) -> RetrievalMetrics:
    """Per query, every gallery item of its class is relevant; R@k = a relevant item in the top k."""
    similarities = query_embeddings @ gallery_embeddings.T
    ranking = np.argsort(-similarities, axis=1, kind="stable")
    relevant = gallery_classes[ranking] == query_classes[:, None]
    ranks = np.arange(1, relevant.shape[1] + 1)
    precision_at_hits = np.cumsum(relevant, axis=1) / ranks
    average_precision = (precision_at_hits * relevant).sum(axis=1) / np.maximum(relevant.sum(axis=1), 1)
    return RetrievalMetrics(
        r_at_1=float(relevant[:, 0].mean()),
        r_at_5=float(relevant[:, :5].any(axis=1).mean()),
        mean_average_precision=float(average_precision.mean()),
        queries=len(query_embeddings),
    )


def attribute_accuracy(predicted_classes: np.ndarray, true_classes: np.ndarray) -> dict[str, float]:
    """Share of clips whose predicted class has the right shape, colour, direction (what errors are)."""
    return {
        attribute: float(
            np.mean([
                getattr(ALL_CLASSES[predicted], attribute) == getattr(ALL_CLASSES[true], attribute)
                for predicted, true in zip(predicted_classes, true_classes)
            ])
        )
        for attribute in ("shape", "colour", "direction")
    }


def evaluate_backend(backend: EmbeddingBackend, gallery: ClipBatch, preprocessing: Preprocessing) -> dict[str, float]:
    """Template and paraphrase text->video retrieval, and video->text classification over all captions."""
    started = time.perf_counter()
    video_embeddings = backend.embed_videos(normalise_pixels(gallery.frames, preprocessing).numpy())
    labels = canonical_captions()
    label_classes = np.arange(len(ALL_CLASSES))
    template = retrieval_metrics(backend.embed_texts(labels), label_classes, video_embeddings, gallery.class_indices)
    paraphrase_lists = [attributes.paraphrases() for attributes in ALL_CLASSES]
    paraphrases = [text for texts in paraphrase_lists for text in texts]
    paraphrase_classes = np.repeat(label_classes, [len(texts) for texts in paraphrase_lists])
    paraphrase = retrieval_metrics(
        backend.embed_texts(paraphrases), paraphrase_classes, video_embeddings, gallery.class_indices
    )
    predicted = np.argmax(video_embeddings @ backend.embed_texts(labels).T, axis=1)
    per_attribute = attribute_accuracy(predicted, gallery.class_indices)
    return {
        **{f"{attribute}_accuracy": accuracy for attribute, accuracy in per_attribute.items()},
        "template_r_at_1": template.r_at_1,
        "template_r_at_5": template.r_at_5,
        "template_map": template.mean_average_precision,
        "template_queries": template.queries,
        "paraphrase_r_at_1": paraphrase.r_at_1,
        "paraphrase_r_at_5": paraphrase.r_at_5,
        "paraphrase_map": paraphrase.mean_average_precision,
        "paraphrase_queries": paraphrase.queries,
        "classification_accuracy": float((predicted == gallery.class_indices).mean()),
        "classification_labels": len(labels),
        "gallery_clips": len(gallery.class_indices),
        "seconds": round(time.perf_counter() - started, 2),
    }


def _render_settings(preprocessing: Preprocessing) -> RenderSettings:
    return RenderSettings(frames_per_clip=preprocessing.frames_per_clip, frame_size=preprocessing.crop_size)


def demo_gallery(preprocessing: Preprocessing, clips_per_class: int = GALLERY_CLIPS_PER_CLASS) -> ClipBatch:
    return heldout_gallery(clips_per_class=clips_per_class, settings=_render_settings(preprocessing))


def event_window_gallery(preprocessing: Preprocessing, videos: int = EVENT_VIDEOS) -> ClipBatch:
    """Windows wholly inside one event of held-out multi-event videos: what moments and Describe
    see. Their shapes wrap around the frame edges, unlike the gallery's."""
    frames, classes = [], []
    for seed in range(EVENT_VIDEO_FIRST_SEED, EVENT_VIDEO_FIRST_SEED + videos):
        video = generate_multi_event_video("heldout", seed, MultiEventSettings(), _render_settings(preprocessing))
        for start, event in video.windows_inside_events(preprocessing.frames_per_clip):
            frames.append(video.frames[start : start + preprocessing.frames_per_clip])
            classes.append(ALL_CLASSES.index(event.attributes))
    return ClipBatch(frames=np.stack(frames), class_indices=np.array(classes))


@torch.no_grad()
def event_window_metrics(backend: EmbeddingBackend, preprocessing: Preprocessing, videos: int = EVENT_VIDEOS) -> dict[str, float]:
    """Zero-shot classification and decoded-caption accuracy (names shape, colour and direction)
    on `event_window_gallery`."""
    windows = event_window_gallery(preprocessing, videos)
    embeddings = backend.embed_videos(normalise_pixels(windows.frames, preprocessing).numpy())
    predicted = (embeddings @ backend.embed_texts(canonical_captions()).T).argmax(axis=1)
    named = [attributes.named_in(text) for attributes, text in zip(windows.attributes, backend.caption(embeddings))]
    return {
        "event_window_classification_accuracy": float((predicted == windows.class_indices).mean()),
        "event_window_caption_accuracy": float(np.mean(named)),
        "event_windows": len(windows.class_indices),
    }


def record_results(results_path: Path, checkpoint: Path, backend_name: str, metrics: dict[str, float]) -> None:
    """Merges one backend's metrics into the results JSON, keeping the other backends' entries."""
    results = json.loads(results_path.read_text()) if results_path.is_file() else {}
    results["checkpoint"] = str(checkpoint)
    results.setdefault("backends", {})[backend_name] = metrics
    results_path.parent.mkdir(parents=True, exist_ok=True)
    results_path.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", type=Path, required=True)
    parser.add_argument("--results", type=Path, default=DEFAULT_RESULTS)
    parser.add_argument("--clips-per-class", type=int, default=GALLERY_CLIPS_PER_CLASS)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    model = load_vljepa(args.checkpoint)
    gallery = demo_gallery(model.config.preprocessing, args.clips_per_class)
    backend = TorchBackend(model)
    metrics = evaluate_backend(backend, gallery, model.config.preprocessing) | event_window_metrics(backend, model.config.preprocessing)
    record_results(args.results, args.checkpoint, "torch", metrics)
    print(json.dumps(metrics, indent=2))


if __name__ == "__main__":
    main()

"""The committed demo checkpoint (models/vljepa-demo): loads, decodes grammar captions, retrieves."""

from pathlib import Path

import numpy as np
import pytest
import torch

from jepa_export.demo import canonical_captions
from jepa_export.vljepa.evaluate import TorchBackend, demo_gallery, evaluate_backend, event_window_metrics
from jepa_export.vljepa.model import VLJepa, load_vljepa, normalise_pixels

CHECKPOINT = Path(__file__).resolve().parents[2] / "models" / "vljepa-demo"


@pytest.fixture(scope="module")
def demo_model() -> VLJepa:
    torch.set_num_threads(1)
    return load_vljepa(CHECKPOINT)


def test_checkpoint_folder_stays_under_20_mb():
    assert sum(path.stat().st_size for path in CHECKPOINT.iterdir()) <= 20 * 1024 * 1024


def test_decoder_turns_every_caption_embedding_back_into_its_caption(demo_model):
    captions = canonical_captions()
    assert demo_model.caption(demo_model.embed_texts(captions)) == captions


def test_decoder_captions_clips_in_the_grammar_as_their_nearest_caption(demo_model):
    gallery = demo_gallery(demo_model.config.preprocessing, clips_per_class=1)
    embeddings = demo_model.embed_videos(normalise_pixels(gallery.frames, demo_model.config.preprocessing))
    decoded = demo_model.caption(embeddings)
    assert set(decoded) <= set(canonical_captions())
    nearest = (embeddings @ demo_model.embed_texts(canonical_captions()).T).argmax(dim=1)
    agreement = np.mean([caption == canonical_captions()[index] for caption, index in zip(decoded, nearest.tolist())])
    assert agreement >= 0.9


def test_held_out_template_retrieval_reaches_the_acceptance_bar(demo_model):
    gallery = demo_gallery(demo_model.config.preprocessing)
    metrics = evaluate_backend(TorchBackend(demo_model), gallery, demo_model.config.preprocessing)
    assert metrics["gallery_clips"] >= 400
    assert metrics["template_r_at_1"] >= 0.85


def test_windows_of_multi_event_videos_are_captioned_nearly_as_well_as_gallery_clips(demo_model):
    # Moments and Describe see these windows; their shapes wrap around the frame edges.
    metrics = event_window_metrics(TorchBackend(demo_model), demo_model.config.preprocessing)
    assert metrics["event_windows"] >= 150
    assert metrics["event_window_caption_accuracy"] >= 0.8

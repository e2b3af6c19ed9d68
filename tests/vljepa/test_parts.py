import numpy as np
import pytest
import torch

from jepa_export.demo import RenderSettings, generate_clips
from jepa_export.vljepa.config import EOS_ID, BOS_ID
from jepa_export.vljepa.model import normalise_pixels
from jepa_export.vljepa.parts import num_visual_tokens


@pytest.fixture(scope="module")
def pixels(tiny_model):
    preprocessing = tiny_model.config.preprocessing
    batch = generate_clips("train", 0, 3, RenderSettings(frames_per_clip=4, frame_size=32))
    return normalise_pixels(batch.frames, preprocessing)


def test_normalised_pixels_are_channels_first_imagenet_standardised(tiny_model, pixels):
    frames = np.zeros((1, 4, 32, 32, 3), dtype=np.uint8)
    frames[..., 0] = 255
    normalised = normalise_pixels(frames, tiny_model.config.preprocessing)
    assert normalised.shape == (1, 4, 3, 32, 32)
    assert torch.allclose(normalised[0, 0, :, 0, 0], torch.tensor([(1 - 0.485) / 0.229, -0.456 / 0.224, -0.406 / 0.225]))
    assert pixels.shape == (3, 4, 3, 32, 32)


def test_normalise_pixels_names_the_expected_shape_on_mismatch(tiny_model):
    with pytest.raises(ValueError, match=r"frames: got shape \(1, 8, 32, 32, 3\), need \(B, 4, 32, 32, 3\)"):
        normalise_pixels(np.zeros((1, 8, 32, 32, 3), dtype=np.uint8), tiny_model.config.preprocessing)


def test_x_encoder_returns_one_token_per_tubelet_patch(tiny_model, pixels):
    tokens = tiny_model.x_encoder(pixels)
    assert tokens.shape == (3, num_visual_tokens(tiny_model.x_encoder.vjepa2.config), 32)
    assert tokens.shape[1] == (4 // 2) * (32 // 16) ** 2


def test_predictor_maps_visual_tokens_to_unit_vectors(tiny_model, pixels):
    embeddings = tiny_model.predictor(tiny_model.x_encoder(pixels))
    assert embeddings.shape == (3, 16)
    assert torch.allclose(embeddings.norm(dim=-1), torch.ones(3), atol=1e-5)


def test_y_encoder_maps_texts_to_unit_vectors_ignoring_padding(tiny_model):
    tokens = tiny_model.tokenize(["a red circle moving left", "a blue square moving up and away"])
    embeddings = tiny_model.y_encoder(**tokens)
    assert embeddings.shape == (2, 16)
    assert torch.allclose(embeddings.norm(dim=-1), torch.ones(2), atol=1e-5)
    alone = tiny_model.y_encoder(**tiny_model.tokenize(["a red circle moving left"]))
    assert torch.allclose(alone[0], embeddings[0], atol=1e-5)


def test_y_decoder_step_returns_next_token_logits_for_any_prefix_length(tiny_model):
    embedding = torch.nn.functional.normalize(torch.randn(2, 16), dim=-1)
    vocabulary_size = len(tiny_model.config.y_decoder.vocabulary)
    for length in (1, 3, 6):
        prefix = torch.full((2, length), BOS_ID, dtype=torch.long)
        assert tiny_model.y_decoder(embedding, prefix).shape == (2, vocabulary_size)


def test_y_decoder_step_is_causal(tiny_model):
    embedding = torch.nn.functional.normalize(torch.randn(1, 16), dim=-1)
    prefix = torch.tensor([[BOS_ID, 5, 6, 7]])
    changed = torch.tensor([[BOS_ID, 5, 6, 9]])
    full = tiny_model.y_decoder.sequence_logits(embedding, prefix)
    assert torch.allclose(full[:, :3], tiny_model.y_decoder.sequence_logits(embedding, changed)[:, :3], atol=1e-6)
    assert torch.allclose(full[:, 2], tiny_model.y_decoder(embedding, prefix[:, :3]), atol=1e-5)


def test_caption_token_ids_end_with_eos_and_reject_unknown_words(tiny_model):
    assert tiny_model.caption_token_ids("a red circle moving left")[-1] == EOS_ID
    with pytest.raises(ValueError, match="'crimson' is not in the decoder vocabulary"):
        tiny_model.caption_token_ids("a crimson circle moving left")

"""Every checkpoint format loads into the module its source computes, and exports with fp32 parity."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from jepa_export.checkpoints import load_text_encoder, load_vjepa2
from jepa_export.modules import PooledVideoEncoderForExport, TextEncoderForExport, video_encoder_for_export
from jepa_export.parity import cosine_rows
from jepa_export.pipeline import run_export
from jepa_export.settings import ExportSettings

PIXELS = torch.randn(2, 8, 3, 64, 64, generator=torch.Generator().manual_seed(5))
SENTENCES = ["a dog catching a frisbee", "rain on a window at night, slowly", "chess"]


def _clip_embedding(module: torch.nn.Module) -> torch.Tensor:
    with torch.no_grad():
        return video_encoder_for_export(module)(PIXELS)[0]


def test_official_checkpoint_loads_target_encoder_by_default(official_checkpoint):
    file, config, target, _ = official_checkpoint
    loaded = load_vjepa2(file, config_file=config)
    with torch.no_grad():
        expected = target(PIXELS, skip_predictor=True).last_hidden_state
        got = loaded(PIXELS, skip_predictor=True).last_hidden_state
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-6)


def test_official_checkpoint_ignores_the_unused_pos_embed_of_released_rope_encoders(official_checkpoint, tmp_path):
    file, config, target, _ = official_checkpoint
    checkpoint = torch.load(file, weights_only=True)
    checkpoint["target_encoder"]["module.backbone.pos_embed"] = torch.zeros(1, 128, 64)
    torch.save(checkpoint, tmp_path / "released.pt")
    torch.testing.assert_close(_clip_embedding(load_vjepa2(tmp_path / "released.pt", config_file=config)), _clip_embedding(target), rtol=0, atol=1e-6)


def test_official_checkpoint_weights_option_chooses_the_online_encoder(official_checkpoint):
    file, config, target, online = official_checkpoint
    loaded = load_vjepa2(file, weights="encoder", config_file=config)
    torch.testing.assert_close(_clip_embedding(loaded), _clip_embedding(online), rtol=0, atol=1e-6)
    assert cosine_rows(_clip_embedding(loaded).numpy(), _clip_embedding(target).numpy()).max() < 0.999


def test_official_checkpoint_without_config_reads_the_architecture_off_the_weights(official_checkpoint):
    file, _, target, _ = official_checkpoint
    config = load_vjepa2(file).config
    assert (config.hidden_size, config.num_hidden_layers, config.patch_size, config.tubelet_size) == (64, 2, 16, 2)
    assert config.mlp_ratio == target.config.mlp_ratio


def test_classifier_clip_embedding_is_the_trained_attentive_pooler_output(classifier_dir):
    from transformers import VJEPA2ForVideoClassification

    loaded = load_vjepa2(classifier_dir)
    assert isinstance(video_encoder_for_export(loaded), PooledVideoEncoderForExport)
    reference = VJEPA2ForVideoClassification.from_pretrained(classifier_dir).eval()
    with torch.no_grad():
        tokens = reference.vjepa2(PIXELS, skip_predictor=True).last_hidden_state
        expected = F.normalize(reference.pooler(tokens), dim=-1)
        token_mean = F.normalize(tokens.mean(dim=1), dim=-1)
    torch.testing.assert_close(_clip_embedding(loaded), expected, rtol=0, atol=1e-6)
    assert not torch.allclose(expected, token_mean, atol=1e-3)


def _encode_like_the_gateway(text, sentences: list[str]) -> np.ndarray:
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(text.tokenizer_file))
    tokenizer.enable_padding(pad_id=0)
    tokenizer.enable_truncation(text.max_tokens)
    encodings = tokenizer.encode_batch(sentences)
    ids = torch.tensor([encoding.ids for encoding in encodings])
    mask = torch.tensor([encoding.attention_mask for encoding in encodings])
    with torch.no_grad():
        return TextEncoderForExport(text.model, text.pooling, text.projection)(ids, mask).numpy()


@pytest.mark.parametrize(
    "folder, pooling, max_tokens, dimension",
    [("sentence_transformers_dir", "cls", 64, 24), ("gemma_sentence_transformers_dir", "mean", 128, 64)],
    ids=["bert-cls-dense-tanh", "embeddinggemma-like"],
)
def test_sentence_transformers_folder_matches_sentence_transformers_encode(folder, pooling, max_tokens, dimension, request):
    from sentence_transformers import SentenceTransformer

    directory = request.getfixturevalue(folder)
    text = load_text_encoder(directory)
    assert (text.pooling, text.max_tokens) == (pooling, max_tokens)
    sentences = [*SENTENCES, "a much longer sentence that runs past the sliding attention window of the toy gemma model"]
    expected = SentenceTransformer(str(directory), device="cpu").encode(sentences, convert_to_numpy=True)
    got = _encode_like_the_gateway(text, sentences)
    assert got.shape == expected.shape == (4, dimension)
    assert cosine_rows(got, expected).min() >= 0.99999


def test_plain_automodel_folder_loads_with_mean_pooling(plain_text_encoder_dir):
    from transformers import AutoModel

    text = load_text_encoder(plain_text_encoder_dir)
    assert text.pooling == "mean" and text.projection is None and text.max_tokens == 128
    reference = AutoModel.from_pretrained(plain_text_encoder_dir).eval()
    ids = torch.randint(1000, 30000, (2, 9), generator=torch.Generator().manual_seed(1))
    mask = torch.ones_like(ids)
    mask[1, 5:] = 0
    with torch.no_grad():
        states = reference(input_ids=ids, attention_mask=mask).last_hidden_state
        expected = F.normalize((states * mask[..., None]).sum(1) / mask.sum(1, keepdim=True), dim=-1)
        got = TextEncoderForExport(text.model, text.pooling)(ids, mask)
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-6)


@pytest.mark.parametrize(
    "video, text",
    [
        ("classifier_dir", "sentence_transformers_dir"),
        ("official_checkpoint", "gemma_sentence_transformers_dir"),
        (None, "plain_text_encoder_dir"),
    ],
    ids=["classifier+sentence-transformers", "official-pt+embeddinggemma-like", "plain-automodel"],
)
def test_every_format_exports_with_fp32_parity(video, text, request, tmp_path):
    video_source = request.getfixturevalue(video) if video else None
    vjepa2, vjepa2_config = video_source[:2] if isinstance(video_source, tuple) else (video_source, None)
    text_source = request.getfixturevalue(text)
    settings = ExportSettings(
        output_dir=tmp_path, vjepa2=vjepa2, vjepa2_config=vjepa2_config, text_encoder=text_source,
        targets=["cpu"], build_precisions=[], tensorrt=False,
    )
    report = run_export(settings)
    assert report.passed
    for model in report.models:
        (fp32,) = model.artifacts
        assert fp32.artifact == "onnx_fp32"
        assert min(result.min_cosine for result in fp32.parity) >= 0.99999, model.name
        assert fp32.neighbours.agreement == 1.0
    saved = json.loads((tmp_path / "export_report.json").read_text())
    assert {model["source"].split(" ")[0] for model in saved["models"]} == {str(source) for source in (vjepa2, text_source) if source}
    assert np.isfinite([result["max_abs_diff"] for model in saved["models"] for result in model["artifacts"][0]["parity"]]).all()

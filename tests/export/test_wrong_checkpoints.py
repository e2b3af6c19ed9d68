"""A checkpoint that cannot be used ends the export with one message naming the file and the
problem, and exit code 2: no traceback, no partial load."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from jepa_export.cli import main


def _export(capsys, *arguments: str) -> tuple[int, list[str]]:
    code = main([*arguments, "--no-tensorrt", "--no-fp16", "--target", "cpu"])
    errors = capsys.readouterr().err
    assert "Traceback" not in errors
    return code, [line for line in errors.splitlines() if line.startswith("jepa-export:")]


def _edited_hf_copy(source: Path, destination: Path, edit) -> Path:
    shutil.copytree(source, destination)
    weights = load_file(destination / "model.safetensors")
    edit(weights)
    save_file(weights, destination / "model.safetensors", metadata={"format": "pt"})
    return destination


def _edited_official_copy(official_checkpoint, destination: Path, edit) -> Path:
    file = official_checkpoint[0]
    checkpoint = torch.load(file, weights_only=True)
    edit(checkpoint["target_encoder"])
    torch.save(checkpoint, destination)
    return destination


def test_hf_folder_with_a_missing_weight_names_the_key(tiny_vjepa2_dir, tmp_path, capsys):
    broken = _edited_hf_copy(tiny_vjepa2_dir, tmp_path / "missing", lambda weights: weights.pop("encoder.layer.1.mlp.fc2.weight"))
    code, messages = _export(capsys, "--vjepa2", str(broken), "--no-text-encoder", "--out", str(tmp_path / "out"))
    assert code == 2
    assert messages == [f"jepa-export: {broken}: does not fit VJEPA2Model: missing keys [encoder.layer.1.mlp.fc2.weight]"]
    assert not (tmp_path / "out" / "repository" / "cpu").exists()


def test_hf_folder_with_a_wrong_shape_names_the_key_and_both_shapes(tiny_vjepa2_dir, tmp_path, capsys):
    def widen(weights):
        weights["encoder.layernorm.weight"] = torch.ones(65)

    broken = _edited_hf_copy(tiny_vjepa2_dir, tmp_path / "shapes", widen)
    code, messages = _export(capsys, "--vjepa2", str(broken), "--no-text-encoder", "--out", str(tmp_path / "out"))
    assert code == 2
    assert messages == [f"jepa-export: {broken}: does not fit VJEPA2Model: wrong shapes [encoder.layernorm.weight (65,) vs (64,)]"]


@pytest.mark.parametrize(
    "edit, problem",
    [
        (lambda encoder: encoder.pop("module.backbone.norm.weight"), "missing keys [norm.weight]"),
        (lambda encoder: encoder.__setitem__("module.backbone.blocks.2.norm1.weight", torch.ones(64)), "unexpected keys [blocks.2.norm1.weight]"),
        (
            lambda encoder: encoder.__setitem__("module.backbone.blocks.0.mlp.fc1.bias", torch.zeros(100)),
            "wrong shapes [blocks.0.mlp.fc1.bias (100,) vs (256,)]",
        ),
    ],
    ids=["missing", "unexpected", "wrong-shape"],
)
def test_official_checkpoint_that_does_not_fit_lists_the_keys(official_checkpoint, tmp_path, capsys, edit, problem):
    broken = _edited_official_copy(official_checkpoint, tmp_path / "broken.pt", edit)
    code, messages = _export(capsys, "--vjepa2", str(broken), "--vjepa2-config", str(official_checkpoint[1]), "--no-text-encoder", "--out", str(tmp_path / "out"))
    assert code == 2
    assert messages == [f"jepa-export: {broken} (target_encoder): does not fit a V-JEPA 2 encoder of width 64 and 2 layers: {problem}"]


def test_official_checkpoint_without_the_chosen_weights_lists_what_it_holds(official_checkpoint, tmp_path, capsys):
    code, messages = _export(capsys, "--vjepa2", str(official_checkpoint[0]), "--weights", "ema_encoder", "--no-text-encoder", "--out", str(tmp_path))
    assert code == 2
    assert messages == [f"jepa-export: {official_checkpoint[0]}: weights 'ema_encoder' not found; the file holds [encoder, epoch, loss, opt, predictor, target_encoder]"]


@pytest.mark.parametrize("content", [b"not a checkpoint at all", b""], ids=["text", "empty"])
def test_a_file_that_is_not_a_checkpoint_is_rejected(tmp_path, capsys, content):
    file = tmp_path / "model.pt"
    file.write_bytes(content)
    code, messages = _export(capsys, "--vjepa2", str(file), "--no-text-encoder", "--out", str(tmp_path / "out"))
    assert code == 2
    assert len(messages) == 1 and messages[0].startswith(f"jepa-export: {file}: not a PyTorch checkpoint (")


def test_a_text_encoder_folder_without_tokenizer_is_rejected(plain_text_encoder_dir, tmp_path, capsys):
    broken = shutil.copytree(plain_text_encoder_dir, tmp_path / "no-tokenizer")
    (broken / "tokenizer.json").unlink()
    code, messages = _export(capsys, "--text-encoder", str(broken), "--out", str(tmp_path / "out"))
    assert code == 2
    assert messages == [f"jepa-export: {broken}: a text encoder folder needs config.json and tokenizer.json"]


def test_a_path_that_does_not_exist_is_named(tmp_path, capsys):
    code, messages = _export(capsys, "--vjepa2", str(tmp_path / "nowhere"), "--no-text-encoder", "--out", str(tmp_path / "out"))
    assert (code, messages) == (2, [f"jepa-export: {tmp_path / 'nowhere'}: no such file or folder"])


def test_a_threshold_that_names_no_field_is_rejected(capsys, tmp_path):
    code, messages = _export(capsys, "--threshold", "onnx_fp16.cosine=0.9", "--out", str(tmp_path))
    assert code == 2 and "--threshold: got 'onnx_fp16.cosine=0.9'" in messages[0]

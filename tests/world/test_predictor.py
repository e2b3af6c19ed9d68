"""The AC predictor follows upstream V-JEPA 2-AC: same outputs, same checkpoint layout, same causality."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from jepa_export.checkpoints import CheckpointError
from jepa_export.world.model import load_vjepa2_ac
from jepa_export.world.predictor import ACPredictor, ACPredictorConfig, load_official_predictor

# Written by facebookresearch/vjepa2 at c2963a4 (src/models/ac_predictor.py, `vit_ac_predictor`,
# 64 px, patch 16, embed 32, predictor 48 x 2 blocks, 4 heads, 7-D actions; weights perturbed
# from upstream's init): its state dict under `module.backbone.`, inputs, and upstream's output.
UPSTREAM_FILE = Path(__file__).parent / "data" / "upstream_ac_predictor.pt"


def _tiny_config(**overrides) -> ACPredictorConfig:
    fields = dict(embed_dim=32, predictor_embed_dim=48, depth=2, num_heads=4, action_dim=7, grid_height=4, grid_width=4) | overrides
    return ACPredictorConfig(**fields)


def test_upstream_weights_give_upstream_outputs():
    upstream = torch.load(UPSTREAM_FILE, weights_only=True)
    predictor = load_official_predictor(UPSTREAM_FILE, grid_height=4, grid_width=4, num_heads=4)
    with torch.no_grad():
        ours = predictor(upstream["tokens"], upstream["actions"], upstream["states"])
    assert predictor.config == _tiny_config()
    torch.testing.assert_close(ours, upstream["upstream_output"], atol=1e-5, rtol=1e-5)


def test_a_frame_never_sees_later_frames_or_actions():
    torch.manual_seed(0)
    predictor = ACPredictor(_tiny_config()).eval()
    tokens, actions, states = torch.randn(1, 3 * 16, 32), torch.randn(1, 3, 7), torch.randn(1, 3, 7)
    changed_tokens, changed_actions = tokens.clone(), actions.clone()
    changed_tokens[:, 32:] += 1.0
    changed_actions[:, 2] += 1.0
    with torch.no_grad():
        before, after = predictor(tokens, actions, states), predictor(changed_tokens, changed_actions, states)
    torch.testing.assert_close(before[:, :32], after[:, :32])
    assert (before[:, 32:] - after[:, 32:]).abs().max() > 1e-3


def test_the_action_changes_the_prediction():
    torch.manual_seed(0)
    predictor = ACPredictor(_tiny_config()).eval()
    tokens, actions, states = torch.randn(1, 16, 32), torch.randn(1, 1, 7), torch.randn(1, 1, 7)
    with torch.no_grad():
        assert (predictor(tokens, actions, states) - predictor(tokens, actions + 0.5, states)).abs().max() > 1e-3


def _official_file(tmp_path: Path, predictor_state: dict, encoder_state: dict) -> Path:
    file = tmp_path / "vjepa2-ac-tiny.pt"
    torch.save({"encoder": encoder_state, "predictor": predictor_state, "epoch": 3}, file)
    return file


def test_the_upstream_ac_checkpoint_layout_loads_encoder_and_predictor(tmp_path: Path):
    from support.upstream import tiny_vjepa2, to_upstream

    encoder = tiny_vjepa2(seed=3)  # 64 px, patch 16: a 4 x 4 grid of 64-d tokens
    torch.manual_seed(1)
    predictor = ACPredictor(_tiny_config(embed_dim=64, num_heads=16))
    file = _official_file(tmp_path, {"module.backbone." + key: value for key, value in predictor.state_dict().items()}, to_upstream(encoder.state_dict()))
    encoder.config.to_json_file(str(tmp_path / "config.json"))  # the geometry; without it, upstream's 256 px
    world = load_vjepa2_ac(file, tmp_path / "config.json")
    pixels, actions, states = torch.randn(2, 3, 64, 64), torch.randn(2, 1, 7), torch.randn(2, 1, 7)
    with torch.no_grad():
        tokens = world.encoder(pixels)
        torch.testing.assert_close(world.predictor(tokens, actions, states), predictor(tokens, actions, states))
        clip = pixels.unsqueeze(1).expand(-1, 2, -1, -1, -1)
        expected_tokens = torch.nn.functional.layer_norm(encoder.get_vision_features(clip), (64,))
    torch.testing.assert_close(tokens, expected_tokens, atol=1e-5, rtol=1e-5)
    assert world.config.actions.max_action[3:6] == [0.0, 0.0, 0.0]  # upstream plans without rotation


def test_a_predictor_that_does_not_fit_names_the_keys(tmp_path: Path):
    state = {"module." + key: value for key, value in ACPredictor(_tiny_config()).state_dict().items()}
    state.pop("module.predictor_norm.weight")
    state["module.extra.weight"] = torch.zeros(1)
    file = _official_file(tmp_path, state, {})
    with pytest.raises(CheckpointError, match=r"missing \[predictor_norm.weight\].*unexpected \[extra.weight\]"):
        load_official_predictor(file, 4, 4, num_heads=4)


def test_a_checkpoint_without_a_predictor_says_what_it_holds(tmp_path: Path):
    file = tmp_path / "encoder-only.pt"
    torch.save({"encoder": {}, "target_encoder": {}}, file)
    with pytest.raises(CheckpointError, match=r"no 'predictor' weights; the file holds \[encoder, target_encoder\]"):
        load_official_predictor(file, 4, 4)

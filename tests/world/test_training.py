import json
from pathlib import Path

import numpy as np
import torch

from jepa_export.world.model import load_world_model
from jepa_export.world.rollout import rollout
from jepa_export.world.table import Table, TableSettings
from jepa_export.world.train import TRAIN_LOG, TrainSettings, encode_frames, train, write_checkpoint

CHECKOUT = Path(__file__).resolve().parents[2]
TINY_RUN = TrainSettings(
    encoder=CHECKOUT / "models" / "vljepa-demo",
    trajectories=6, trajectory_steps=8, validation_trajectories=2, window=3, auto_steps=2, predictor_width=16, depth=1, heads=2,
    batch_size=8, steps=20, log_every=5, warmup_steps=2, learning_rate=3e-3, threads=1,
)


def test_a_short_run_lowers_the_loss_and_reloads_to_identical_rollouts(tmp_path):
    model, log = train(TINY_RUN, TableSettings(), {"horizon": 2, "samples": 8})
    first, last = log["curve"][0], log["curve"][-1]
    assert last["teacher_l1"] < first["teacher_l1"] and last["rollout_l1"] < first["rollout_l1"]
    assert log["seconds"]["cpu_total"] > 0 and log["training_seeds"][1] == log["validation_seeds"][0]

    write_checkpoint(model, log, tmp_path / "world")
    assert json.loads((tmp_path / "world" / TRAIN_LOG).read_text())["curve"] == log["curve"]
    reloaded = load_world_model(tmp_path / "world")
    assert reloaded.config == model.config and reloaded.config.planning == {"horizon": 2, "samples": 8}

    table = Table(TableSettings.model_validate(reloaded.config.world))
    episode = table.episode(1_000_000)
    frames = np.stack([table.render(episode.start)])
    tokens = encode_frames(model, frames)
    assert torch.equal(tokens, encode_frames(reloaded, frames))
    state, actions = torch.tensor([episode.start.effector]), torch.full((1, 3, 2), 0.05)
    bounds = torch.tensor(model.config.actions.state_low), torch.tensor(model.config.actions.state_high)
    with torch.no_grad():
        assert torch.equal(rollout(model.predictor, tokens, state, actions, *bounds), rollout(reloaded.predictor, tokens, state, actions, *bounds))

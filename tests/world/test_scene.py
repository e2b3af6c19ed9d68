"""`jepa-export world-scene` writes what a user sends to `jepa plan`: the episode's own images and state."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from jepa_export.cli import main
from jepa_export.world.model import WorldModelConfig
from jepa_export.world.table import Table, TableSettings

CHECKPOINT = Path(__file__).resolve().parents[2] / "models" / "world-demo"


def test_world_scene_writes_the_held_out_episode_start_goal_and_state(tmp_path: Path):
    assert main(["world-scene", "--checkpoint", str(CHECKPOINT), "--seed", "1000003", "--out", str(tmp_path)]) == 0
    table = Table(TableSettings.model_validate(WorldModelConfig.model_validate_json((CHECKPOINT / "config.json").read_text()).world))
    episode = table.episode(1000003)
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "now.png")), table.render(episode.start))
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "goal.png")), table.render(episode.goal))
    state = [float(value) for value in (tmp_path / "state.txt").read_text().split(",")]
    np.testing.assert_allclose(state, episode.start.effector, atol=1e-4)


def test_world_scene_without_a_world_in_the_checkpoint_exits_2(tmp_path: Path, world_checkpoint: Path, capsys):
    assert main(["world-scene", "--checkpoint", str(world_checkpoint), "--out", str(tmp_path)]) == 2
    assert "names no demo world" in capsys.readouterr().err

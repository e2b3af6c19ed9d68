"""World-model fixtures: a tiny random world model (random V-JEPA 2 encoder, random AC predictor),
exported for the cpu target and served by a real local Triton."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

TINY_PREDICTOR = dict(predictor_embed_dim=32, depth=2, num_heads=4, action_dim=2)
TINY_SIDE = 64  # the tiny world model's crop size


def smooth_image(seed: int, side: int = TINY_SIDE) -> np.ndarray:
    """uint8 (S, S, 3): a few coloured blobs, so that observations differ in more than noise."""
    generator = np.random.default_rng(seed)
    coarse = generator.integers(0, 256, (4, 4, 3)).astype(np.float32)
    return np.kron(coarse, np.ones((side // 4, side // 4, 1), np.float32)).astype(np.uint8)


@pytest.fixture(scope="session")
def world_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A world-model folder over a tiny random V-JEPA 2 (64 px, patch 16 -> 4x4 tokens of 64-d)."""
    import torch

    from jepa_export.checkpoints import save_random_vjepa2
    from jepa_export.world.model import ActionSpace, EncoderSource, WorldModel, WorldModelConfig, load_frozen_encoder, observation_encoder, save_world_model
    from jepa_export.world.predictor import ACPredictor, ACPredictorConfig

    root = tmp_path_factory.mktemp("world")
    save_random_vjepa2(root / "encoder", "tiny", seed=5)
    config = WorldModelConfig(
        model_name="world-tiny",
        encoder=EncoderSource(source="../encoder", pool=1),
        predictor=ACPredictorConfig(embed_dim=64, grid_height=4, grid_width=4, **TINY_PREDICTOR),
        actions=ActionSpace(max_action=[0.1, 0.1], state_low=[0.0, 0.0], state_high=[1.0, 1.0]),
        max_horizon=6,
        planning={"samples": 32, "horizon": 3, "iterations": 3, "top_k": 4},
    )
    torch.manual_seed(7)
    directory = root / "checkpoint"
    directory.mkdir()
    encoder = observation_encoder(load_frozen_encoder(root / "encoder"), 1)
    save_world_model(WorldModel(config, encoder, ACPredictor(config.predictor)), directory)
    return directory


@pytest.fixture(scope="session")
def world_export(world_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory):
    """(artifacts dir, export report) of the tiny world model alone, cpu target, fp32."""
    from jepa_export.pipeline import run_export
    from jepa_export.settings import ExportSettings

    output_dir = tmp_path_factory.mktemp("world-artifacts")
    settings = ExportSettings(output_dir=output_dir, world=world_checkpoint, export_text_encoder=False, targets=["cpu"], build_precisions=[], tensorrt=False)
    return output_dir, run_export(settings)


@pytest.fixture(scope="session")
def world_repository(world_export) -> Path:
    return world_export[0] / "repository" / "cpu"


@pytest.fixture(scope="session")
def world_triton(world_repository: Path) -> Iterator:
    from jepa_server.triton_local import LocalTriton, LocalTritonOptions

    with LocalTriton(LocalTritonOptions(repository=world_repository, startup_timeout_s=120)) as triton:
        yield triton

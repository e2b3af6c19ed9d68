"""World-model checkpoints: the project's folder format and upstream's `vjepa2-ac-vitg.pt`.

A folder (`models/world-demo`) holds `config.json` (`WorldModelConfig`) and `predictor.safetensors`;
the frozen encoder is not copied but named by `encoder.source`, relative to the folder: a VL-JEPA
checkpoint (its X-encoder), a Hugging Face V-JEPA 2 folder or an upstream `.pt`.
An upstream AC checkpoint is one `.pt` with `encoder` and `predictor`; its action space is
upstream's 7-D end-effector delta (xyz, rotation, gripper) with the rotation held at zero, as
upstream's CEM does, so a state moves by plain addition.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import torch
from pydantic import BaseModel, Field, ValidationError, model_validator
from safetensors.torch import load_file, save_file

from jepa_export.checkpoints import CheckpointError, load_vjepa2, load_vjepa2_official
from jepa_export.settings import IMAGENET_MEAN, IMAGENET_STD
from jepa_export.world.encoder import ObservationEncoder
from jepa_export.world.predictor import ACPredictor, ACPredictorConfig, load_official_predictor

CONFIG_FILE = "config.json"
PREDICTOR_FILE = "predictor.safetensors"
VJEPA2_AC_LAYOUT = "vjepa2-ac"
# Upstream's planning bounds (notebooks/utils/mpc_utils.py): 5 cm per step, no rotation, gripper +-0.75.
_UPSTREAM_MAX_ACTION = [0.05, 0.05, 0.05, 0.0, 0.0, 0.0, 0.75]
_UNBOUNDED = 1e6


class EncoderSource(BaseModel):
    # Relative to the checkpoint folder: a VL-JEPA checkpoint, a Hugging Face V-JEPA 2 folder or an upstream `.pt`.
    source: str
    # Average pooling of the patch grid (ObservationEncoder).
    pool: int = Field(default=1, ge=1)


class ActionSpace(BaseModel):
    """Per coordinate: the largest action, and the box the state (end effector) stays in."""

    max_action: list[float]
    state_low: list[float]
    state_high: list[float]

    @model_validator(mode="after")
    def _same_sizes(self) -> ActionSpace:
        if not len(self.max_action) == len(self.state_low) == len(self.state_high):
            raise ValueError(f"max_action, state_low, state_high: sizes {len(self.max_action)}, {len(self.state_low)}, {len(self.state_high)} differ")
        return self


class WorldModelConfig(BaseModel):
    format: Literal["jepa-serve/world-model-checkpoint"] = "jepa-serve/world-model-checkpoint"
    format_version: Literal[1] = 1
    model_name: str
    encoder: EncoderSource
    image_mean: list[float] = Field(default_factory=lambda: list(IMAGENET_MEAN))
    image_std: list[float] = Field(default_factory=lambda: list(IMAGENET_STD))
    predictor: ACPredictorConfig
    actions: ActionSpace
    # The longest rollout the served models accept (one Plan's horizon).
    max_horizon: int = Field(default=16, ge=1)
    # Recommended CEM settings (names of the gateway's CEMSettings); served as `jepa.plan_defaults`.
    planning: dict[str, int | float] = Field(default_factory=dict)
    # The demo world's settings and the training record, kept for the reader.
    world: dict[str, Any] = Field(default_factory=dict)
    training: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _action_sizes(self) -> WorldModelConfig:
        if len(self.actions.max_action) != self.predictor.action_dim:
            raise ValueError(f"actions.max_action: {len(self.actions.max_action)} values for a predictor with action_dim {self.predictor.action_dim}")
        return self


class WorldModel(torch.nn.Module):
    """The frozen observation encoder and the AC predictor, with the config that serves them."""

    def __init__(self, config: WorldModelConfig, encoder: ObservationEncoder, predictor: ACPredictor) -> None:
        super().__init__()
        self.config = config
        self.encoder = encoder
        self.predictor = predictor

    @property
    def crop_size(self) -> int:
        return int(self.encoder.vjepa2.config.crop_size)


def load_frozen_encoder(source: Path) -> torch.nn.Module:
    """A VL-JEPA checkpoint folder (its X-encoder), a Hugging Face V-JEPA 2 folder or an upstream `.pt`."""
    if source.is_dir() and (source / CONFIG_FILE).is_file() and json.loads((source / CONFIG_FILE).read_text()).get("format") == "jepa-serve/vljepa-checkpoint":
        from jepa_export.vljepa.model import load_vljepa

        return load_vljepa(source).x_encoder.vjepa2
    return load_vjepa2(source)


def observation_encoder(vjepa2: torch.nn.Module, pool: int) -> ObservationEncoder:
    """The frozen encoder, gradients off: the predictor is trained on its features, never it."""
    vjepa2.requires_grad_(False)
    return ObservationEncoder(vjepa2.eval(), pool).eval()  # type: ignore[arg-type]


def check_predictor_grid(config: ACPredictorConfig, encoder: ObservationEncoder) -> None:
    grid = (config.grid_height, config.grid_width)
    if grid != (encoder.pooled_side, encoder.pooled_side):
        raise CheckpointError(f"predictor: grid {grid[0]}x{grid[1]} does not match the encoder's pooled {encoder.pooled_side}x{encoder.pooled_side} tokens")
    width = int(encoder.vjepa2.config.hidden_size)
    if config.embed_dim != width:
        raise CheckpointError(f"predictor.embed_dim: got {config.embed_dim}, the encoder's tokens are {width}-d")


def save_world_model(model: WorldModel, directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / CONFIG_FILE).write_text(model.config.model_dump_json(indent=2) + "\n")
    save_file({key: tensor.contiguous() for key, tensor in model.predictor.state_dict().items()}, str(directory / PREDICTOR_FILE))
    return directory


def load_world_model(path: Path) -> WorldModel:
    """A world-model folder, or an upstream V-JEPA 2-AC `.pt` (`load_vjepa2_ac`)."""
    path = Path(path)
    if path.is_file():
        return load_vjepa2_ac(path)
    try:
        config = WorldModelConfig.model_validate_json((path / CONFIG_FILE).read_text())
    except (OSError, ValidationError) as error:
        raise CheckpointError(f"{path}: not a world-model checkpoint ({error})") from error
    encoder = observation_encoder(load_frozen_encoder((path / config.encoder.source).resolve()), config.encoder.pool)
    check_predictor_grid(config.predictor, encoder)
    predictor = ACPredictor(config.predictor)
    try:
        predictor.load_state_dict(load_file(str(path / PREDICTOR_FILE)), strict=True)
    except (OSError, RuntimeError) as error:
        raise CheckpointError(f"{path / PREDICTOR_FILE}: does not fit config.json's predictor ({error})") from error
    return WorldModel(config, encoder, predictor.eval())


def load_vjepa2_ac(file: Path, config_file: Path | None = None) -> WorldModel:
    """Upstream's `vjepa2-ac-vitg.pt` layout: the frozen `encoder` and the AC `predictor`, strict."""
    encoder = observation_encoder(load_vjepa2_official(file, "encoder", config_file), pool=1)
    predictor = load_official_predictor(file, encoder.grid_side, encoder.grid_side)
    check_predictor_grid(predictor.config, encoder)
    action_dim = predictor.config.action_dim
    max_action = _UPSTREAM_MAX_ACTION if action_dim == len(_UPSTREAM_MAX_ACTION) else [0.05] * action_dim
    config = WorldModelConfig(
        model_name=file.stem,
        encoder=EncoderSource(source=str(file.resolve()), pool=1),
        predictor=predictor.config,
        actions=ActionSpace(max_action=max_action, state_low=[-_UNBOUNDED] * (action_dim - 1) + [0.0], state_high=[_UNBOUNDED] * (action_dim - 1) + [1.0]),
        world={"layout": VJEPA2_AC_LAYOUT},
    )
    return WorldModel(config, encoder, predictor)

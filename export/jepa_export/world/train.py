"""Trains the demo world model: a small AC predictor on frozen encoder features of random-action
trajectories in the tabletop world (`table.py`), as V-JEPA 2-AC is trained on unlabelled robot video.

Every frame is encoded once by the frozen encoder and kept in memory; the predictor then learns
upstream's loss (`app/vjepa_droid/train.py`): L1 of teacher-forced one-step predictions plus L1 of
an auto-regressive rollout from the first frame, on windows of consecutive frames.

    python -m jepa_export.world.train --out models/world-demo
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from pydantic import BaseModel, Field
from tqdm import tqdm

from jepa_export.vljepa.train import warmup_cosine
from jepa_export.world.encoder import ObservationEncoder
from jepa_export.world.model import ActionSpace, EncoderSource, WorldModel, WorldModelConfig, load_frozen_encoder, observation_encoder, save_world_model
from jepa_export.world.predictor import ACPredictor, ACPredictorConfig
from jepa_export.world.table import TRAINING_SEEDS, Table, TableSettings
from jepa_media.pixels import normalise

TRAIN_LOG = "train_log.json"
DEFAULT_ENCODER = Path("models/vljepa-demo")
# The CEM settings the checkpoint recommends (config.json `planning`, the gateway's CEMSettings
# names), tuned with `benchmarks/world_offline.py`.
RECOMMENDED_PLANNING: dict[str, int | float] = {"horizon": 3, "samples": 128, "iterations": 4, "top_k": 12, "seed": 0}
_SEED_STREAM = 100_000  # trajectory seeds of training seed S start at S * _SEED_STREAM


class TrainSettings(BaseModel):
    """Data, predictor shape and optimisation of one training run."""

    seed: int = 0
    threads: int = Field(default=1, ge=1, description="one thread: process CPU is then the wall time, with no idle spinning")
    encoder: Path = DEFAULT_ENCODER
    pool: int = Field(default=2, ge=1, description="average pooling of the encoder's patch grid (8x8 -> 4x4 at 2)")
    trajectories: int = Field(default=2000, ge=1)
    trajectory_steps: int = Field(default=16, ge=1, description="random actions per trajectory")
    validation_trajectories: int = Field(default=100, ge=1)
    window: int = Field(default=4, ge=1, description="actions per training window (window + 1 frames)")
    auto_steps: int = Field(default=3, ge=1, description="auto-regressive steps of the rollout loss (upstream: 2)")
    predictor_width: int = Field(default=64, ge=8)
    depth: int = Field(default=2, ge=1)
    heads: int = Field(default=4, ge=1)
    batch_size: int = Field(default=64, ge=1)
    steps: int = Field(default=3200, ge=1)
    learning_rate: float = 1e-3
    warmup_steps: int = 100
    weight_decay: float = 0.04
    log_every: int = Field(default=100, ge=1)


def encode_frames(model: WorldModel, frames: np.ndarray, batch_size: int = 256) -> torch.Tensor:
    """uint8 (B, S, S, 3) observations -> observation tokens (B, N, D), without gradients."""
    pixels = normalise(frames, tuple(model.config.image_mean), tuple(model.config.image_std))
    with torch.no_grad():
        return torch.cat([model.encoder(torch.from_numpy(pixels[start : start + batch_size])) for start in range(0, len(pixels), batch_size)])


class TrajectoryFeatures(BaseModel, arbitrary_types_allowed=True):
    """Encoded random-action trajectories: tokens (M, T+1, N, D), states (M, T+1, A), actions (M, T, A)."""

    tokens: torch.Tensor
    states: torch.Tensor
    actions: torch.Tensor


def collect(model: WorldModel, table: Table, seeds: range, steps: int) -> TrajectoryFeatures:
    """Roll out random trajectories from `seeds` and encode each frame once."""
    tokens, states, actions = [], [], []
    for seed in tqdm(seeds, desc="trajectories", mininterval=5):
        trajectory, trajectory_actions = table.random_trajectory(seed, steps)
        tokens.append(encode_frames(model, np.stack([table.render(state) for state in trajectory])))
        states.append(torch.tensor([state.effector for state in trajectory], dtype=torch.float32))
        actions.append(torch.from_numpy(trajectory_actions))
    return TrajectoryFeatures(tokens=torch.stack(tokens), states=torch.stack(states), actions=torch.stack(actions))


def sample_windows(data: TrajectoryFeatures, batch_size: int, window: int, generator: torch.Generator) -> TrajectoryFeatures:
    """`batch_size` windows of `window` consecutive actions (and window + 1 frames)."""
    trajectories, frames = data.tokens.shape[:2]
    rows = torch.randint(0, trajectories, (batch_size,), generator=generator)
    starts = torch.randint(0, frames - window, (batch_size,), generator=generator)
    frame_index = starts[:, None] + torch.arange(window + 1)[None]
    return TrajectoryFeatures(
        tokens=data.tokens[rows[:, None], frame_index],
        states=data.states[rows[:, None], frame_index],
        actions=data.actions[rows[:, None], frame_index[:, :-1]],
    )


def window_losses(predictor: ACPredictor, batch: TrajectoryFeatures, auto_steps: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Upstream's two L1 terms: teacher forcing (every frame predicts the next from true history)
    and an auto-regressive rollout of `auto_steps` from the first frame (its own predictions fed back)."""
    tokens = batch.tokens  # (B, T+1, N, D)
    batch_size, frames, per_frame, width = tokens.shape
    context = tokens[:, :-1].reshape(batch_size, -1, width)
    target = tokens[:, 1:].reshape(batch_size, -1, width)
    teacher_forced = F.layer_norm(predictor(context, batch.actions, batch.states[:, :-1]), (width,))
    teacher_loss = (teacher_forced - target).abs().mean()
    steps = min(auto_steps, frames - 1)
    rollout_tokens = torch.cat([tokens[:, 0], teacher_forced[:, :per_frame]], dim=1)
    for step in range(1, steps):
        predicted = predictor(rollout_tokens, batch.actions[:, : step + 1], batch.states[:, : step + 1])[:, -per_frame:]
        rollout_tokens = torch.cat([rollout_tokens, F.layer_norm(predicted, (width,))], dim=1)
    rollout_loss = (rollout_tokens[:, per_frame:] - target[:, : steps * per_frame]).abs().mean()
    return teacher_loss, rollout_loss


def validation_metrics(predictor: ACPredictor, data: TrajectoryFeatures, window: int) -> dict[str, float]:
    """Held-out L1 per rollout step, against copying the current frame (what an action-blind model would do)."""
    windows = TrajectoryFeatures(
        tokens=data.tokens[:, : window + 1], states=data.states[:, : window + 1], actions=data.actions[:, :window]
    )
    predictor.eval()
    with torch.no_grad():
        batch, _, per_frame, width = windows.tokens.shape
        tokens = windows.tokens[:, 0]
        per_step, copy = [], []
        for step in range(window):
            predicted = predictor(tokens, windows.actions[:, : step + 1], windows.states[:, : step + 1])[:, -per_frame:]
            predicted = F.layer_norm(predicted, (width,))
            tokens = torch.cat([tokens, predicted], dim=1)
            per_step.append(float((predicted - windows.tokens[:, step + 1]).abs().mean()))
            copy.append(float((windows.tokens[:, 0] - windows.tokens[:, step + 1]).abs().mean()))
    predictor.train()
    return {**{f"rollout_l1_step{step + 1}": round(value, 5) for step, value in enumerate(per_step)},
            **{f"copy_l1_step{step + 1}": round(value, 5) for step, value in enumerate(copy)}}


def trajectory_seeds(settings: TrainSettings) -> tuple[range, range]:
    """Seeds of the training and validation trajectories: disjoint, and inside `TRAINING_SEEDS`."""
    base = TRAINING_SEEDS.start + settings.seed * _SEED_STREAM
    training = range(base, base + settings.trajectories)
    validation = range(training.stop, training.stop + settings.validation_trajectories)
    if validation.stop > min(base + _SEED_STREAM, TRAINING_SEEDS.stop):
        raise ValueError(f"trajectories + validation_trajectories: got {len(training) + len(validation)}, at most {_SEED_STREAM} per seed")
    return training, validation


def predictor_config(settings: TrainSettings, encoder: ObservationEncoder) -> ACPredictorConfig:
    side = encoder.pooled_side
    return ACPredictorConfig(
        embed_dim=int(encoder.vjepa2.config.hidden_size), predictor_embed_dim=settings.predictor_width, depth=settings.depth,
        num_heads=settings.heads, action_dim=2, grid_height=side, grid_width=side,
    )


def train(settings: TrainSettings, table_settings: TableSettings, planning: dict[str, int | float], model_name: str = "world-demo") -> tuple[WorldModel, dict[str, Any]]:
    """Collect and encode trajectories, train the predictor; returns the model and the training log.
    The config names the encoder by `settings.encoder` as given; `main` makes it relative to the folder."""
    torch.manual_seed(settings.seed)
    torch.set_num_threads(settings.threads)
    wall_start, cpu_start = time.perf_counter(), time.process_time()
    table = Table(table_settings)
    encoder = observation_encoder(load_frozen_encoder(settings.encoder), settings.pool)
    config = WorldModelConfig(
        model_name=model_name,
        encoder=EncoderSource(source=str(settings.encoder), pool=settings.pool),
        predictor=predictor_config(settings, encoder),
        actions=ActionSpace(max_action=[table_settings.max_action] * 2, state_low=table_settings.state_low, state_high=table_settings.state_high),
        max_horizon=2 * settings.window,
        planning=planning,
        world=table_settings.model_dump(mode="json"),
    )
    model = WorldModel(config, encoder, ACPredictor(config.predictor))
    training_seeds, validation_seeds = trajectory_seeds(settings)
    data = collect(model, table, training_seeds, settings.trajectory_steps)
    validation = collect(model, table, validation_seeds, settings.trajectory_steps)
    seconds = {"collect_wall": round(time.perf_counter() - wall_start, 1), "collect_cpu": round(time.process_time() - cpu_start, 1)}

    predictor = model.predictor.train()
    optimizer = torch.optim.AdamW(predictor.parameters(), lr=settings.learning_rate, weight_decay=settings.weight_decay)
    scheduler = warmup_cosine(optimizer, settings.warmup_steps, settings.steps)
    generator = torch.Generator().manual_seed(settings.seed)
    curve: list[dict[str, float]] = []
    running = np.zeros(2)
    progress = tqdm(range(settings.steps), desc="train AC predictor", mininterval=5)
    for step in progress:
        teacher_loss, rollout_loss = window_losses(predictor, sample_windows(data, settings.batch_size, settings.window, generator), settings.auto_steps)
        optimizer.zero_grad()
        (teacher_loss + rollout_loss).backward()
        optimizer.step()
        scheduler.step()
        running += [teacher_loss.item(), rollout_loss.item()]
        if (step + 1) % settings.log_every == 0 or step + 1 == settings.steps:
            count = (step % settings.log_every) + 1
            point = {"step": step + 1, "teacher_l1": round(running[0] / count, 5), "rollout_l1": round(running[1] / count, 5)}
            curve.append(point)
            progress.set_postfix(teacher=point["teacher_l1"], rollout=point["rollout_l1"])
            running[:] = 0
    predictor.eval()
    seconds.update(wall_total=round(time.perf_counter() - wall_start, 1), cpu_total=round(time.process_time() - cpu_start, 1))
    log = {
        "settings": settings.model_dump(mode="json"),
        "table": table_settings.model_dump(mode="json"),
        "training_seeds": [training_seeds.start, training_seeds.stop],
        "validation_seeds": [validation_seeds.start, validation_seeds.stop],
        "frames": int(data.tokens.shape[0] * data.tokens.shape[1]),
        "curve": curve,
        "validation": validation_metrics(predictor, validation, settings.window),
        "seconds": seconds,
    }
    model.config.training = {"seconds": seconds, "validation": log["validation"]}
    return model, log


def write_checkpoint(model: WorldModel, log: dict[str, Any], out: Path) -> Path:
    """config.json, predictor.safetensors and train_log.json; the encoder is named relative to
    the folder, as `load_world_model` reads it."""
    model.config.encoder.source = os.path.relpath(Path(model.config.encoder.source).resolve(), out.resolve())
    save_world_model(model, out)
    (out / TRAIN_LOG).write_text(json.dumps(log, indent=2) + "\n")
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--encoder", type=Path, default=DEFAULT_ENCODER)
    for name, field in TrainSettings.model_fields.items():
        if field.annotation in (int, float):
            parser.add_argument(f"--{name.replace('_', '-')}", type=int if field.annotation is int else float, default=field.default)
    arguments = parser.parse_args(argv)
    settings = TrainSettings(**{name: getattr(arguments, name) for name in TrainSettings.model_fields})
    model, log = train(settings, TableSettings(), RECOMMENDED_PLANNING)
    log["command"] = model.config.training["command"] = "python -m jepa_export.world.train " + shlex.join(sys.argv[1:] if argv is None else argv)
    write_checkpoint(model, log, arguments.out)
    print(json.dumps({"validation": log["validation"], "seconds": log["seconds"]}, indent=2))


if __name__ == "__main__":
    main()

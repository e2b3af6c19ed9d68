"""Closed-loop episodes in the tabletop world, for any policy: the planner offline, the served
PlanStream, and the random and greedy baselines all run through `run_episodes`, with the same
held-out episodes, the same step budget and success measured on the world's true state."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image
from pydantic import BaseModel

from jepa_export.world.table import HELDOUT_SEEDS, Episode, Table, TableSettings, TableState

# One episode's controller: (observation image uint8 (S, S, 3), effector state (2,)) -> action (2,).
Controller = Callable[[np.ndarray, np.ndarray], np.ndarray]
# Builds a fresh controller for an episode from its goal image, so it may keep state (a warm start).
Policy = Callable[[np.ndarray], Controller]
STRIP_FRAMES = 8


class EpisodeResult(BaseModel):
    seed: int
    success: bool
    steps: int
    start_block_distance: float
    final_block_distance: float
    seconds_per_action: float


class EpisodeSummary(BaseModel):
    episodes: int
    success_rate: float
    mean_steps: float
    mean_final_block_distance: float
    seconds_per_action: float


def heldout_episodes(table: Table, count: int) -> list[Episode]:
    """The first `count` held-out episodes: seeds no training trajectory uses."""
    return [table.episode(seed) for seed in HELDOUT_SEEDS[:count]]


def run_episode(table: Table, episode: Episode, policy: Policy) -> tuple[EpisodeResult, list[TableState]]:
    """Act until the block is within tolerance of its goal or the step budget is spent.
    Returns the result and the visited states (start first), for pictures."""
    controller = policy(table.render(episode.goal))
    state, states, thinking = episode.start, [episode.start], 0.0
    while len(states) <= table.settings.max_steps and not table.success(state, episode.goal):
        started = time.perf_counter()
        action = controller(table.render(state), np.asarray(state.effector, np.float32))
        thinking += time.perf_counter() - started
        state = table.step(state, action)
        states.append(state)
    steps = len(states) - 1
    return EpisodeResult(
        seed=episode.seed,
        success=table.success(state, episode.goal),
        steps=steps,
        start_block_distance=round(table.block_distance(episode.start, episode.goal), 4),
        final_block_distance=round(table.block_distance(state, episode.goal), 4),
        seconds_per_action=round(thinking / max(steps, 1), 4),
    ), states


def run_episodes(table: Table, episodes: list[Episode], policy: Policy, on_result: Callable[[EpisodeResult], None] | None = None) -> list[EpisodeResult]:
    results = []
    for episode in episodes:
        result, _ = run_episode(table, episode, policy)
        results.append(result)
        if on_result is not None:
            on_result(result)
    return results


def summarise(results: list[EpisodeResult]) -> EpisodeSummary:
    steps = sum(result.steps for result in results)
    return EpisodeSummary(
        episodes=len(results),
        success_rate=round(float(np.mean([result.success for result in results])), 4),
        mean_steps=round(steps / len(results), 2),
        mean_final_block_distance=round(float(np.mean([result.final_block_distance for result in results])), 4),
        seconds_per_action=round(sum(result.seconds_per_action * result.steps for result in results) / max(steps, 1), 4),
    )


def random_policy(max_action: float, seed: int = 0) -> Policy:
    """Uniform random displacements: the floor a planner must beat."""
    rng = np.random.default_rng(seed)

    def start(goal_image: np.ndarray) -> Controller:
        return lambda observation, state: rng.uniform(-max_action, max_action, size=2).astype(np.float32)

    return start


def save_episode_strip(table: Table, states: list[TableState], goal: TableState, path: Path, frames: int = STRIP_FRAMES) -> Path:
    """A PNG of `frames` evenly spaced frames of an episode, then the goal image, side by side."""
    picked = [states[int(round(index))] for index in np.linspace(0, len(states) - 1, min(frames, len(states)))]
    gap = np.full((table.settings.image_size, 4, 3), 255, np.uint8)
    tiles = [part for state in picked for part in (table.render(state), gap)] + [np.full((table.settings.image_size, 8, 3), 255, np.uint8), table.render(goal)]
    strip = np.concatenate(tiles, axis=1)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(strip).resize((strip.shape[1] * 3, strip.shape[0] * 3), Image.Resampling.NEAREST).save(path)
    return path


def write_scene(checkpoint: Path, seed: int, out: Path) -> list[Path]:
    """One episode of a world model's demo world as a user would send it to `jepa plan`: the start
    image (`now.png`), the goal image (`goal.png`) and the effector state (`state.txt`, "x,y")."""
    from jepa_export.world.model import CONFIG_FILE, WorldModelConfig

    config = WorldModelConfig.model_validate_json((checkpoint / CONFIG_FILE).read_text())
    if not config.world:
        raise ValueError(f"{checkpoint}: its config.json names no demo world (world: {{}})")
    table = Table(TableSettings.model_validate(config.world))
    episode = table.episode(seed)
    out.mkdir(parents=True, exist_ok=True)
    written = [out / "now.png", out / "goal.png", out / "state.txt"]
    Image.fromarray(table.render(episode.start)).save(written[0])
    Image.fromarray(table.render(episode.goal)).save(written[1])
    written[2].write_text(",".join(f"{value:.4f}" for value in episode.start.effector) + "\n")
    return written

"""Offline closed-loop evaluation of a world model in the tabletop world: model-predictive control
with the gateway's CEM over the in-process PyTorch predictor, against a random-action and a greedy
one-step baseline, on held-out episodes with the same step budget (`jepa_export.world.episodes`).

The served evaluation (Triton + gateway) runs the same episodes and CEM; this one tunes the
checkpoint's recommended CEM settings and shows what the model can do without serving. It lives
here, not in the export stage, because it needs both stages' code (the CEM is the gateway's).

    python -m benchmarks.world_offline --checkpoint models/world-demo --episodes 50
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from jepa_export.world.episodes import Controller, EpisodeResult, Policy, heldout_episodes, random_policy, run_episode, run_episodes, save_episode_strip, summarise
from jepa_export.world.model import WorldModel, load_world_model
from jepa_export.world.rollout import energies, rollout
from jepa_export.world.table import Episode, Table, TableSettings
from jepa_export.world.train import encode_frames
from jepa_server.core.cem import CEMSettings, CrossEntropyMethod

RESULTS_FILE = "offline_eval.json"


class RolloutScorer:
    """Energies of candidate action sequences from one observation towards one goal, in PyTorch."""

    def __init__(self, model: WorldModel, goal_image: np.ndarray) -> None:
        self.model = model
        self.goal_tokens = encode_frames(model, goal_image[None])
        self.state_low = torch.tensor(model.config.actions.state_low)
        self.state_high = torch.tensor(model.config.actions.state_high)

    def observe(self, observation: np.ndarray) -> torch.Tensor:
        return encode_frames(self.model, observation[None])

    def final_energies(self, observation_tokens: torch.Tensor, state: np.ndarray, actions: np.ndarray) -> np.ndarray:
        """(S, H, A) action sequences -> (S,) energy after the last step."""
        count = len(actions)
        with torch.no_grad():
            predicted = rollout(
                self.model.predictor, observation_tokens.expand(count, -1, -1), torch.from_numpy(state)[None].expand(count, -1),
                torch.from_numpy(np.ascontiguousarray(actions, np.float32)), self.state_low, self.state_high,
            )
            return energies(predicted, self.goal_tokens)[:, -1].numpy()


def planned_policy(model: WorldModel, settings: CEMSettings) -> Policy:
    """MPC: plan with CEM at every step, execute the first action, warm-start from the shifted plan."""
    max_action = np.asarray(model.config.actions.max_action, np.float32)

    def start(goal_image: np.ndarray) -> Controller:
        scorer = RolloutScorer(model, goal_image)
        warm: list[np.ndarray] = []

        def act(observation: np.ndarray, state: np.ndarray) -> np.ndarray:
            tokens = scorer.observe(observation)
            cem = CrossEntropyMethod(settings, max_action, initial_mean=warm[-1] if warm else None)
            for _ in range(settings.iterations):
                actions = cem.sample()
                cem.update(actions, scorer.final_energies(tokens, state, actions))
            warm.append(cem.warm_start())
            return cem.plan()[0]

        return act

    return start


def greedy_policy(model: WorldModel, candidates: int, seed: int = 0) -> Policy:
    """The one-step baseline: score `candidates` uniform actions one step ahead, take the best."""
    max_action = np.asarray(model.config.actions.max_action, np.float32)
    rng = np.random.default_rng(seed)

    def start(goal_image: np.ndarray) -> Controller:
        scorer = RolloutScorer(model, goal_image)

        def act(observation: np.ndarray, state: np.ndarray) -> np.ndarray:
            actions = rng.uniform(-max_action, max_action, size=(candidates, 1, max_action.size)).astype(np.float32)
            return actions[int(np.argmin(scorer.final_energies(scorer.observe(observation), state, actions))), 0]

        return act

    return start


POLICIES = ("planned", "random", "greedy")


def _printer(name: str) -> Callable[[EpisodeResult], None]:
    return lambda result: print(f"{name} {result.model_dump_json()}", flush=True)


def evaluate(model: WorldModel, episodes: list[Episode], settings: CEMSettings, table: Table, greedy_candidates: int, names: tuple[str, ...] = POLICIES) -> dict[str, object]:
    """Success of the planner and both baselines on the same episodes."""
    report: dict[str, object] = {"cem": settings.model_dump(), "greedy_candidates": greedy_candidates, "table": table.settings.model_dump(mode="json")}
    policies = {
        "planned": planned_policy(model, settings),
        "random": random_policy(table.settings.max_action),
        "greedy": greedy_policy(model, greedy_candidates),
    }
    for name in names:
        policy = policies[name]
        started = time.perf_counter()
        results = run_episodes(table, episodes, policy, on_result=_printer(name))
        summary = summarise(results)
        print(f"{name}: {summary.model_dump_json()} ({time.perf_counter() - started:.0f} s)", flush=True)
        report[name] = {"summary": summary.model_dump(), "episodes": [result.model_dump() for result in results]}
    return report


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", type=Path, required=True)
    parser.add_argument("--episodes", type=int, default=50)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, help=f"results JSON (default: <checkpoint>/{RESULTS_FILE})")
    parser.add_argument("--strip", type=Path, help="also draw the first solved episode here (the README's picture is benchmarks.planning's)")
    for name in ("horizon", "samples", "iterations", "top_k"):
        parser.add_argument(f"--{name.replace('_', '-')}", type=int)
    parser.add_argument("--policies", nargs="+", choices=POLICIES, default=list(POLICIES))
    parser.add_argument("--greedy-candidates", type=int, help="default: samples x iterations (the planner's budget)")
    arguments = parser.parse_args(argv)
    torch.set_num_threads(arguments.threads)
    model = load_world_model(arguments.checkpoint)
    overrides = {name: getattr(arguments, name) for name in ("horizon", "samples", "iterations", "top_k") if getattr(arguments, name) is not None}
    settings = CEMSettings(**{**model.config.planning, **overrides})
    table = Table(TableSettings.model_validate(model.config.world))
    episodes = heldout_episodes(table, arguments.episodes)
    report = evaluate(model, episodes, settings, table, arguments.greedy_candidates or settings.samples * settings.iterations, tuple(arguments.policies))
    report["checkpoint"] = str(arguments.checkpoint)
    out = arguments.out or arguments.checkpoint / RESULTS_FILE
    out.write_text(json.dumps(report, indent=2) + "\n")
    if arguments.strip is not None and "planned" in arguments.policies:
        # The strip shows the first held-out episode the planner solved (its seed is in the JSON).
        solved = [result["seed"] for result in report["planned"]["episodes"] if result["success"]]  # type: ignore[index]
        episode = next(episode for episode in episodes if episode.seed == (solved or [episodes[0].seed])[0])
        _, states = run_episode(table, episode, planned_policy(model, settings))
        save_episode_strip(table, states, episode.goal, arguments.strip)
        report["strip_seed"] = episode.seed
        out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps({name: report[name]["summary"] for name in arguments.policies}, indent=2))  # type: ignore[index]


if __name__ == "__main__":
    main()

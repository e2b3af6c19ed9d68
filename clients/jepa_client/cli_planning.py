"""`jepa plan`: the Plan command of the `jepa` CLI. Each CEM iteration's energies print as the
server streams them, then the planned actions, one line per step, with their predicted energies."""

from __future__ import annotations

import argparse
import dataclasses
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

from jepa_client.cli_retrieval import Command
from jepa_client.client import Client
from jepa_client.planning import GoalEmbedding, Observation, Plan, PlanIteration, PlanOptions


def _floats(text: str) -> tuple[float, ...]:
    """argparse type: comma-separated numbers, e.g. `0.4,0.6`."""
    try:
        values = tuple(float(part) for part in text.split(","))
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"got {text!r}, need comma-separated numbers such as 0.4,0.6") from error
    if not all(np.isfinite(values)):
        raise argparse.ArgumentTypeError(f"got {text!r}, need finite numbers")
    return values


def add_command(commands: argparse._SubParsersAction, count: Callable[[str], int]) -> None:
    plan = commands.add_parser(
        "plan", help="plan actions towards a goal image with the served world model",
        description="Search for the actions that bring the observation to the goal (CEM over the world model's predicted "
        "futures): each iteration's best energy as the server runs it, then the planned actions and their energies.",
    )
    plan.add_argument("--observation", type=Path, required=True, metavar="IMAGE", help="current camera image (PNG, JPEG...)")
    plan.add_argument("--state", type=_floats, required=True, metavar="X,Y", help="end effector position, comma-separated")
    goal = plan.add_mutually_exclusive_group(required=True)
    goal.add_argument("--goal", type=Path, metavar="IMAGE", help="goal image")
    goal.add_argument("--goal-embedding", type=Path, metavar="JSON", help="goal tokens saved by an earlier `jepa plan --json` (skips encoding)")
    plan.add_argument("--horizon", type=count, default=0, help="steps planned ahead (0: server default)")
    plan.add_argument("--samples", type=count, default=0, help="action sequences per iteration (0: server default)")
    plan.add_argument("--iterations", type=count, default=0, help="CEM iterations (0: server default)")
    plan.add_argument("--top-k", type=count, default=0, help="elite samples per iteration (0: server default)")
    plan.add_argument("--seed", type=count, default=None, help="seed of the sampling noise (default: random)")
    plan.add_argument("--model", default="", help="world model: its world space or encoder name (default: the server's)")
    plan.add_argument("--json", action="store_true", help="one JSON object per iteration, then the plan (with the goal tokens)")


def _goal_embedding(path: Path) -> GoalEmbedding:
    """The goal tokens of the last line of `jepa plan --json`'s output (or of a bare goal_embedding object)."""
    lines = path.read_text().strip().splitlines()
    saved = json.loads(lines[-1]) if lines else None
    if isinstance(saved, dict):
        saved = saved.get("plan", saved)
    embedding = saved.get("goal_embedding", saved) if isinstance(saved, dict) else None
    if not isinstance(embedding, dict) or "values" not in embedding or "world_space" not in embedding:
        raise ValueError(f"{path}: need a JSON object with goal_embedding.values and goal_embedding.world_space (`jepa plan --json`)")
    return GoalEmbedding(np.asarray(embedding["values"], dtype=np.float32), str(embedding["world_space"]))


def _print_iteration(iteration: PlanIteration, as_json: bool) -> None:
    if as_json:
        print(json.dumps({"iteration": dataclasses.asdict(iteration)}), flush=True)
    else:
        print(f"iteration {iteration.index:>3}  best energy {iteration.best_energy:.5f}  elite mean {iteration.elite_mean_energy:.5f}  "
              f"rollouts {iteration.rollouts}", flush=True)


def _print_plan(plan: Plan, as_json: bool) -> None:
    if as_json:
        print(json.dumps({"plan": dataclasses.asdict(plan)}, default=lambda array: array.tolist()))
        return
    model = plan.model
    print(f"model  {model.name} v{model.version} (world space {model.world_space}, rollout in {model.rollout})")
    print(f"plan   {len(plan.actions)} steps, {plan.rollouts} rollouts, {plan.planning_ms:.0f} ms")
    for step, (action, energy) in enumerate(zip(plan.actions, plan.energies)):
        shown = ", ".join(f"{value:+.4f}" for value in action)
        print(f"step {step}  action [{shown}]  energy {energy:.5f}")


def prepare(args: argparse.Namespace) -> Command | None:
    """The plan command ready to run (None for other commands); files are read before connecting."""
    if args.command != "plan":
        return None
    observation = Observation(args.observation.read_bytes(), args.state)
    goal = args.goal.read_bytes() if args.goal else _goal_embedding(args.goal_embedding)
    options = PlanOptions(horizon=args.horizon, samples=args.samples, iterations=args.iterations, top_k=args.top_k, seed=args.seed)

    def plan(client: Client) -> int:
        for event in client.plan(observation, goal, options, model=args.model):
            if isinstance(event, PlanIteration):
                _print_iteration(event, args.json)
            else:
                _print_plan(event, args.json)
        return 0

    return plan

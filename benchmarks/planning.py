"""Planning in the demo world, served (issue 18): closed-loop MPC through `PlanStream` on held-out
episodes, against a random-action and a greedy one-step baseline with the same step budget; and
planning time per action, served, against a straightforward loop (one rollout per predictor call,
no batching, in-process PyTorch) at the same samples, horizon and iterations, in interleaved rounds.

    python -m benchmarks.planning                                  # models/world-demo, 50 episodes
    python -m benchmarks.planning --episodes 4 --speed-rounds 1    # a smoke

The checkpoint is exported to a scratch repository and served by a local Triton and two gateways:
one runs each iteration's rollouts inside Triton (`world_rollout`), the other drives
`world_predictor` over the horizon itself (`JEPA_PLAN_ROLLOUT=gateway`); both are timed. The greedy
baseline is the served planner at horizon 1, one iteration, the best sample taken as is.
Writes benchmarks/results/planning.json, its section of benchmarks/RESULTS.md and the README's
picture of a planned episode (docs/images/planned-episode.png).
"""

from __future__ import annotations

import argparse
import json
import queue
import statistics
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from benchmarks.foreign_load import ForeignLoadMeter
from benchmarks.processes import ServedStack
from benchmarks.results import Machine, load_average
from benchmarks.results_markdown import RESULTS_MD, update_section
from benchmarks.world_offline import RolloutScorer
from jepa_client import Client
from jepa_client.planning import Observation, Plan, PlanOptions, PlanStep
from jepa_export.pipeline import run_export
from jepa_export.settings import ExportSettings
from jepa_export.world.episodes import Controller, EpisodeResult, Policy, heldout_episodes, random_policy, run_episode, summarise
from jepa_export.world.model import WorldModel, load_world_model
from jepa_export.world.table import Episode, Table, TableSettings, TableState
from jepa_server.core.cem import CEMSettings, CrossEntropyMethod

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CHECKPOINT = ROOT / "models" / "world-demo"
DEFAULT_OUT = ROOT / "benchmarks" / "results" / "planning.json"
STRIP = ROOT / "docs" / "images" / "planned-episode.png"
SECTION = "Planning"


class ServedPolicy:
    """Closed-loop MPC over one `PlanStream` per episode: an observation in, the next action out."""

    def __init__(self, client: Client, options: PlanOptions) -> None:
        self.client, self.options = client, options
        self._open: tuple[queue.Queue, Iterator[PlanStep]] | None = None

    def __call__(self, goal_image: np.ndarray) -> Controller:
        self.close()
        observations: queue.Queue[Observation | None] = queue.Queue()
        steps = self.client.plan_stream(goal_image, iter(observations.get, None), self.options)
        self._open = (observations, steps)

        def act(observation: np.ndarray, state: np.ndarray) -> np.ndarray:
            observations.put(Observation(image=observation, state=state))
            return next(steps).action

        return act

    def close(self) -> None:
        """End the last episode's stream: no more observations, and nothing left to read."""
        if self._open is not None:
            observations, steps = self._open
            observations.put(None)
            for _ in steps:
                pass
            self._open = None


def straightforward_plan(world: WorldModel, observation: np.ndarray, state: np.ndarray, goal_image: np.ndarray, settings: CEMSettings) -> np.ndarray:
    """What a first implementation does: the same CEM, but every sample rolled out on its own,
    one predictor call per step (batch 1), in-process PyTorch."""
    scorer = RolloutScorer(world, goal_image)
    observation_tokens = scorer.observe(observation)
    cem = CrossEntropyMethod(settings, np.asarray(world.config.actions.max_action))
    for _ in range(settings.iterations):
        samples = cem.sample()
        cem.update(samples, np.concatenate([scorer.final_energies(observation_tokens, state, sequence[None]) for sequence in samples]))
    return cem.plan()


def _served_plan_seconds(client: Client, observation: np.ndarray, state: np.ndarray, goal_image: np.ndarray, options: PlanOptions) -> tuple[float, str]:
    started = time.perf_counter()
    *_, plan = client.plan(Observation(image=observation, state=state), goal_image, options)
    elapsed = time.perf_counter() - started
    if not isinstance(plan, Plan):
        raise RuntimeError(f"Plan ended without a result: {plan!r}")
    return elapsed, plan.model.rollout


def _spread(values: list[float]) -> float:
    middle = statistics.median(values)
    return round((max(values) - min(values)) / middle, 3) if middle else 0.0


def measure_speed(world: WorldModel, table: Table, episodes: list[Episode], clients: dict[str, Client], settings: CEMSettings, rounds: int) -> dict[str, object]:
    """Seconds per action at the same CEM settings: the straightforward loop and each served
    rollout mode, alternating in every round over the same observations."""
    options = PlanOptions(horizon=settings.horizon, samples=settings.samples, iterations=settings.iterations, top_k=settings.top_k, seed=0)
    scenes = [(table.render(episode.start), np.asarray(episode.start.effector, np.float32), table.render(episode.goal)) for episode in episodes]
    seconds: dict[str, list[list[float]]] = {name: [] for name in ("straightforward", *clients)}
    rollout_modes: dict[str, str] = {}
    for client in clients.values():  # first calls pay for connections and warm caches: not timed
        _served_plan_seconds(client, *scenes[0], options)
    for round_index in tqdm(range(rounds), desc="speed rounds"):
        order = ["straightforward", *clients] if round_index % 2 == 0 else [*clients, "straightforward"]
        for name in order:
            timings = []
            for observation, state, goal_image in scenes:
                if name == "straightforward":
                    started = time.perf_counter()
                    straightforward_plan(world, observation, state, goal_image, settings)
                    timings.append(time.perf_counter() - started)
                else:
                    elapsed, rollout_modes[name] = _served_plan_seconds(clients[name], observation, state, goal_image, options)
                    timings.append(elapsed)
            seconds[name].append(timings)
    round_medians = {name: [statistics.median(timings) for timings in per_round] for name, per_round in seconds.items()}
    speedups = {
        name: [straight / served for straight, served in zip(round_medians["straightforward"], round_medians[name])]
        for name in clients
    }
    return {
        "settings": settings.model_dump(),
        "observations": len(scenes),
        "rounds": rounds,
        "predictor_calls_per_action_straightforward": settings.samples * settings.iterations * settings.horizon,
        "seconds_per_action": {name: round(statistics.median(medians), 4) for name, medians in round_medians.items()},
        "speedup": {name: round(statistics.median(values), 2) for name, values in speedups.items()},
        "speedup_per_round": {name: [round(value, 2) for value in values] for name, values in speedups.items()},
        "speedup_spread": {name: _spread(values) for name, values in speedups.items()},
        "rollout_modes": rollout_modes,
    }


def _evaluate(name: str, table: Table, episodes: list[Episode], policy: Policy) -> tuple[list[EpisodeResult], dict[int, list[TableState]]]:
    results, visited = [], {}
    with tqdm(episodes, desc=name) as progress:
        for episode in progress:
            result, states = run_episode(table, episode, policy)
            results.append(result)
            visited[episode.seed] = states
            progress.set_postfix(success=f"{np.mean([r.success for r in results]):.2f}")
    return results, visited


def _export(checkpoint: Path, scratch: Path) -> Path:
    report = run_export(ExportSettings(output_dir=scratch, world=checkpoint, export_text_encoder=False, targets=["cpu"], build_precisions=[], tensorrt=False))
    if not report.passed:
        raise SystemExit(f"{checkpoint}: the export failed its verification; see {scratch / 'export_report.json'}")
    return scratch / "repository" / "cpu"


def run(checkpoint: Path, episode_count: int, speed_observations: int, speed_rounds: int, scratch: Path, out: Path, strip: Path | None) -> dict[str, object]:
    torch.set_num_threads(2)
    world = load_world_model(checkpoint)
    table = Table(TableSettings.model_validate(world.config.world))
    defaults = CEMSettings.model_validate(world.config.planning)
    episodes = heldout_episodes(table, episode_count)
    repository = _export(checkpoint, scratch / "artifacts")
    meter = ForeignLoadMeter()
    load_start = load_average()
    started = time.monotonic()
    with ServedStack(repository, scratch / "logs" / "triton-loop") as served, ServedStack(repository, scratch / "logs" / "gateway-loop", {"JEPA_PLAN_ROLLOUT": "gateway"}) as gateway_loop:
        with Client(served.gateway_address) as client, Client(gateway_loop.gateway_address) as gateway_client:
            planned_policy = ServedPolicy(client, PlanOptions(seed=1))
            planned, planned_states = _evaluate("planned (served PlanStream)", table, episodes, planned_policy)
            planned_policy.close()
            greedy_policy = ServedPolicy(client, PlanOptions(horizon=1, iterations=1, top_k=1, momentum_mean=0.0, samples=defaults.samples, seed=1))
            greedy, _ = _evaluate("greedy one-step (served)", table, episodes, greedy_policy)
            greedy_policy.close()
            random_results, _ = _evaluate("random actions", table, episodes, random_policy(max(world.config.actions.max_action), seed=1))
            meter.sample_load_average()
            speed = measure_speed(world, table, episodes[:speed_observations], {"served": client, "served_gateway_loop": gateway_client}, defaults, speed_rounds)
            peak_rss = {**{f"triton_loop_{k}": v for k, v in served.peak_rss_mib().items()}, **{f"gateway_loop_{k}": v for k, v in gateway_loop.peak_rss_mib().items()}}
    load = meter.read()
    planned_summary = summarise(planned)
    shown = next((result for result in planned if result.success and result.steps >= 6), planned[0])
    if strip is not None:
        from jepa_export.world.episodes import save_episode_strip

        save_episode_strip(table, planned_states[shown.seed], next(e for e in episodes if e.seed == shown.seed).goal, strip)
    results: dict[str, object] = {
        "episodes": len(episodes),
        "success_rate": planned_summary.success_rate,
        "random_success_rate": summarise(random_results).success_rate,
        "greedy_success_rate": summarise(greedy).success_rate,
        "planning_speedup": speed["speedup"]["served"],  # type: ignore[index]
        "planning_speedup_gateway_loop": speed["speedup"]["served_gateway_loop"],  # type: ignore[index]
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "command": " ".join(["python", "-m", "benchmarks.planning", *sys.argv[1:]]),
        "checkpoint": str(checkpoint.relative_to(ROOT) if checkpoint.is_relative_to(ROOT) else checkpoint),
        "machine": Machine.describe().model_dump(),
        "seconds": round(time.monotonic() - started, 1),
        "load_average_start": load_start,
        "load_average_end": load_average(),
        "foreign_load": load.foreign_load,
        "load": load.model_dump(),
        "peak_rss_mib": peak_rss,
        "cem_settings": defaults.model_dump(),
        "summaries": {
            "planned": planned_summary.model_dump(),
            "greedy": summarise(greedy).model_dump(),
            "random": summarise(random_results).model_dump(),
        },
        "speed": speed,
        "per_episode": {
            "planned": [result.model_dump() for result in planned],
            "greedy": [result.model_dump() for result in greedy],
            "random": [result.model_dump() for result in random_results],
        },
        "strip_seed": shown.seed,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1) + "\n")
    return results


def render_section(results: dict) -> str:
    speed = results["speed"]
    settings = results["cem_settings"]
    seconds = speed["seconds_per_action"]
    noisy = results["foreign_load"] > 0.5 or speed["speedup_spread"]["served"] > 0.25
    return f"""## Planning (`planning.json`, issue 18)
`{results['command']}` on {results['created_at']}, {results['seconds']} s, foreign load {results['foreign_load']} cores.

Closed-loop MPC in the demo tabletop world (`{results['checkpoint']}`), {results['episodes']} held-out episodes, the same step budget for every policy; success = the block within tolerance of its goal.

| policy | success rate | mean final block distance | seconds per action |
|---|---|---|---|
| CEM planner, served (PlanStream; {settings['samples']} samples x horizon {settings['horizon']} x {settings['iterations']} iterations) | {results['success_rate']:.2f} | {results['summaries']['planned']['mean_final_block_distance']} | {results['summaries']['planned']['seconds_per_action']} |
| greedy one-step, served (horizon 1, the best of {settings['samples']} samples) | {results['greedy_success_rate']:.2f} | {results['summaries']['greedy']['mean_final_block_distance']} | {results['summaries']['greedy']['seconds_per_action']} |
| random actions | {results['random_success_rate']:.2f} | {results['summaries']['random']['mean_final_block_distance']} | - |

Planning time per action at the same settings ({speed['observations']} observations, {speed['rounds']} interleaved rounds; median of per-round ratios):

| path | seconds per action | speedup vs straightforward (spread) |
|---|---|---|
| straightforward loop: one rollout per predictor call, batch 1, in-process PyTorch ({speed['predictor_calls_per_action_straightforward']} calls) | {seconds['straightforward']} | 1 |
| served, rollout loop inside Triton (`world_rollout`) | {seconds['served']} | {speed['speedup']['served']}x ({speed['speedup_spread']['served']}) |
| served, gateway drives `world_predictor` per step | {seconds['served_gateway_loop']} | {speed['speedup']['served_gateway_loop']}x ({speed['speedup_spread']['served_gateway_loop']}) |

Goal: planning speedup >= 10: {'noisy' if noisy else ('met' if results['planning_speedup'] >= 10 else 'missed')}.
"""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", type=Path, default=DEFAULT_CHECKPOINT)
    parser.add_argument("--episodes", type=int, default=50)
    parser.add_argument("--speed-observations", type=int, default=3, help="observations timed in each speed round")
    parser.add_argument("--speed-rounds", type=int, default=3)
    parser.add_argument("--scratch", type=Path, default=ROOT / "benchmarks" / ".cache" / "planning")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--no-strip", action="store_true", help="do not rewrite docs/images/planned-episode.png")
    parser.add_argument("--render", type=Path, help="only rewrite RESULTS.md's section from this results file")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.render is None:
        results = run(args.checkpoint.resolve(), args.episodes, args.speed_observations, args.speed_rounds, args.scratch, args.out, None if args.no_strip else STRIP)
    else:
        results = json.loads(args.render.read_text())
    update_section(RESULTS_MD, SECTION, render_section(results))
    print(json.dumps({key: results[key] for key in ("episodes", "success_rate", "random_success_rate", "greedy_success_rate", "planning_speedup")}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

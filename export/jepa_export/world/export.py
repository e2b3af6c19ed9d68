"""Export a world model as served models: `world_encoder` (an image -> observation tokens),
`world_predictor` (one auto-regressive step), and, for the cpu target, `world_rollout`: the same
predictor graph driven over a whole horizon inside Triton and scored against a goal, so one
planning iteration is one request (docs/world-model.md).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import torch
from pydantic import BaseModel

from jepa_export import tensorrt_plan
from jepa_export.jobs import ExportJob, JobFactory, model_settings, weights_fingerprint
from jepa_export.onnx_export import TORCHSCRIPT
from jepa_export.repository import PYTHON_MODEL_SOURCE, RUNTIME_FILE, ModelSettings, RuntimeSpec, Target, TensorSettings, WarmupInput, WarmupSettings, render_config
from jepa_export.settings import ExportSettings
from jepa_export.world.model import WorldModel, load_world_model
from jepa_export.world.rollout import predict_next, rollout

ROLLOUT_MODEL_SOURCE = Path(__file__).with_name("triton_rollout_model.py")
ROLLOUT_MODEL = "world_rollout"
PREDICTOR_MODEL = "world_predictor"
ENCODER_MODEL = "world_encoder"
# Frames a verification rollout runs: exercises the block-causal mask over several frames.
_VERIFICATION_HORIZON = 3


class _PredictNext(torch.nn.Module):
    input_names = ("context_tokens", "actions", "states")
    output_names = ("next_tokens",)

    def __init__(self, world: WorldModel) -> None:
        super().__init__()
        self.predictor = world.predictor

    def forward(self, context_tokens: torch.Tensor, actions: torch.Tensor, states: torch.Tensor) -> torch.Tensor:
        return predict_next(self.predictor, context_tokens, actions, states)


class WorldExport(BaseModel, arbitrary_types_allowed=True):
    """What `run_export` needs from a world model: its jobs, and the rollout model written after them."""

    job_factories: list[tuple[str, JobFactory]]
    world: WorldModel
    world_space: str

    def write_rollout_model(self, predictor_onnx: Path, repositories: dict[Target, Path]) -> None:
        """`world_rollout` in the cpu repository: the python backend runs the loop (other targets
        drive `world_predictor` from the gateway)."""
        repository = repositories.get("cpu")
        if repository is None or not repository.is_dir():
            return
        write_rollout_model(repository, rollout_settings(self.world, self.world_space), predictor_onnx)


def _action_parameters(world: WorldModel) -> dict[str, str]:
    actions = world.config.actions
    join = lambda values: ",".join(map(str, values))  # noqa: E731
    return {
        "jepa.action_dim": str(world.predictor.config.action_dim),
        "jepa.max_action": join(actions.max_action),
        "jepa.state_low": join(actions.state_low),
        "jepa.state_high": join(actions.state_high),
        "jepa.max_horizon": str(world.config.max_horizon),
        "jepa.tokens": str(world.predictor.config.tokens_per_frame),
        "jepa.token_dim": str(world.predictor.config.embed_dim),
        "jepa.plan_defaults": json.dumps(world.config.planning, sort_keys=True),
    }


def rollout_settings(world: WorldModel, world_space: str) -> ModelSettings:
    tokens, width, action_dim = world.predictor.config.tokens_per_frame, world.predictor.config.embed_dim, world.predictor.config.action_dim
    return ModelSettings(
        name=ROLLOUT_MODEL,
        max_batch_size=0,
        dynamic_batching=None,
        inputs=[
            TensorSettings(name="observation_tokens", dims=[1, tokens, width]),
            TensorSettings(name="state", dims=[1, action_dim]),
            TensorSettings(name="goal_tokens", dims=[1, tokens, width]),
            TensorSettings(name="actions", dims=[-1, -1, action_dim]),
        ],
        outputs=[TensorSettings(name="energies", dims=[-1, -1])],
        parameters={
            "jepa.role": "world_rollout",
            "jepa.world_space": world_space,
            **_action_parameters(world),
        },
    )


def write_rollout_model(repository: Path, settings: ModelSettings, predictor_onnx: Path) -> Path:
    """`<repository>/world_rollout/1/`: the predictor's graph, `model.py` (+ the runtime code it
imports, `runtime_model.py`) and `runtime.json`."""
    version_dir = repository / settings.name / str(settings.version)
    version_dir.mkdir(parents=True, exist_ok=True)
    for weights in [predictor_onnx, *predictor_onnx.parent.glob(f"{predictor_onnx.name}.data")]:
        shutil.copy2(weights, version_dir / weights.name)
    shutil.copy2(ROLLOUT_MODEL_SOURCE, version_dir / "model.py")
    shutil.copy2(PYTHON_MODEL_SOURCE, version_dir / "runtime_model.py")
    (version_dir / RUNTIME_FILE).write_text(RuntimeSpec().model_dump_json(indent=2) + "\n")
    (repository / settings.name / "config.pbtxt").write_text(render_config(settings, "cpu"))
    return repository / settings.name


def rendered_observations(world: WorldModel, count: int) -> torch.Tensor:
    """Smooth random images, normalised as served: (count, 3, S, S). Real inputs for parity checks
    without depending on the demo world's renderer."""
    generator = np.random.default_rng(0)
    side = world.crop_size
    coarse = generator.random((count, 3, 4, 4)).astype(np.float32)
    pixels = torch.nn.functional.interpolate(torch.from_numpy(coarse), size=(side, side), mode="bilinear", align_corners=False)
    mean, std = torch.tensor(world.config.image_mean)[:, None, None], torch.tensor(world.config.image_std)[:, None, None]
    return (pixels - mean) / std


def prepare_world_export(settings: ExportSettings) -> WorldExport:
    if settings.world is None:
        raise ValueError("world: no checkpoint given")
    world = load_world_model(settings.world)
    config = world.predictor.config
    tokens, width, action_dim, side = config.tokens_per_frame, config.embed_dim, config.action_dim, world.crop_size
    world_space = f"world-{weights_fingerprint(world.encoder, world.predictor)}"
    common = {"jepa.world_space": world_space, **_action_parameters(world)}
    observations = rendered_observations(world, 4)
    max_action = torch.tensor(world.config.actions.max_action)
    with torch.no_grad():
        observation_tokens = world.encoder(observations)
        actions = (torch.rand(4, _VERIFICATION_HORIZON, action_dim) * 2 - 1) * max_action
        states = torch.rand(4, action_dim)
        predicted = rollout(
            world.predictor, observation_tokens, states, actions,
            torch.tensor(world.config.actions.state_low), torch.tensor(world.config.actions.state_high),
        )
    history = torch.cat([observation_tokens[:, None], predicted[:, :-1]], dim=1).flatten(1, 2)
    batch = lambda: torch.export.Dim("batch", min=1, max=4096)  # noqa: E731 - a fresh Dim per job
    source = str(settings.world)

    def encoder_job(job_settings: ExportSettings) -> ExportJob:
        return ExportJob(
            settings=model_settings(
                job_settings,
                name=ENCODER_MODEL,
                inputs=[TensorSettings(name="pixel_values", dims=[3, side, side])],
                outputs=[TensorSettings(name="observation_tokens", dims=[tokens, width])],
                warmup=[WarmupSettings(name="zeros", inputs=[WarmupInput(name="pixel_values", dims=[3, side, side])])],
                parameters={
                    "jepa.role": "world_encoder",
                    "jepa.crop_size": str(side),
                    "jepa.resize_short_side": str(side),
                    "jepa.image_mean": ",".join(map(str, world.config.image_mean)),
                    "jepa.image_std": ",".join(map(str, world.config.image_std)),
                    **common,
                },
            ),
            module=world.encoder,
            make_inputs=lambda size: (torch.randn(size, 3, side, side),),
            real_inputs={"smooth images": (observations,)},
            dynamic_shapes={"pixel_values": {0: batch()}},
            tensorrt_profile={"pixel_values": tensorrt_plan.profile_shapes((size, 3, side, side) for size in (1, job_settings.tensorrt_opt_batch_size, job_settings.max_batch_size))},
            source=f"{source} (encoder)",
        )

    def predictor_job(job_settings: ExportSettings) -> ExportJob:
        frames = torch.export.Dim("frames", min=1, max=world.config.max_horizon)

        def make_inputs(size: int) -> tuple[torch.Tensor, ...]:
            return torch.randn(size, 2 * tokens, width), torch.randn(size, 2, action_dim), torch.rand(size, 2, action_dim)

        context_shape = lambda size, count: (size, count * tokens, width)  # noqa: E731
        condition_shape = lambda size, count: (size, count, action_dim)  # noqa: E731
        sizes = list(zip((1, job_settings.tensorrt_opt_batch_size, job_settings.max_batch_size), (1, 2, world.config.max_horizon)))
        full_states = torch.cat([states[:, None], states[:, None].expand(-1, _VERIFICATION_HORIZON - 1, -1)], dim=1)
        return ExportJob(
            settings=model_settings(
                job_settings,
                name=PREDICTOR_MODEL,
                inputs=[
                    TensorSettings(name="context_tokens", dims=[-1, width]),
                    TensorSettings(name="actions", dims=[-1, action_dim]),
                    TensorSettings(name="states", dims=[-1, action_dim]),
                ],
                outputs=[TensorSettings(name="next_tokens", dims=[tokens, width])],
                warmup=[
                    WarmupSettings(
                        name="zeros",
                        inputs=[
                            WarmupInput(name="context_tokens", dims=[tokens, width]),
                            WarmupInput(name="actions", dims=[1, action_dim]),
                            WarmupInput(name="states", dims=[1, action_dim]),
                        ],
                    )
                ],
                parameters={"jepa.role": "world_predictor", **common},
            ),
            module=_PredictNext(world),
            make_inputs=make_inputs,
            real_inputs={f"encoded images, {_VERIFICATION_HORIZON} frames": (history, actions, full_states)},
            extra_inputs={"one frame": (torch.randn(3, tokens, width), torch.randn(3, 1, action_dim), torch.rand(3, 1, action_dim))},
            dynamic_shapes={
                "context_tokens": {0: (shared := batch()), 1: tokens * frames},
                "actions": {0: shared, 1: frames},
                "states": {0: shared, 1: frames},
            },
            tensorrt_profile={
                "context_tokens": tensorrt_plan.profile_shapes(context_shape(size, count) for size, count in sizes),
                "actions": tensorrt_plan.profile_shapes(condition_shape(size, count) for size, count in sizes),
                "states": tensorrt_plan.profile_shapes(condition_shape(size, count) for size, count in sizes),
            },
            source=f"{source} (predictor)",
            graph_recipes=(TORCHSCRIPT,),
        )

    return WorldExport(job_factories=[(ENCODER_MODEL, encoder_job), (PREDICTOR_MODEL, predictor_job)], world=world, world_space=world_space)

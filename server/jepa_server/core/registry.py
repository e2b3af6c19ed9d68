"""The models the gateway can use, resolved by name or by role from what Triton serves.

Everything the gateway needs to feed a model comes from the repository (docs/repository-format.md):
a parameter that is missing or malformed refuses the repository with an error naming the model and
the parameter, instead of serving with a guess.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from jepa_media import ClipGeometry

from jepa_server.backends.triton import ServedModel
from jepa_server.core.cem import CEMSettings
from jepa_server.errors import InvalidInput, MalformedRepository, NotFound, SpaceMismatch
from jepa_server.text.tokenizer import TextTokenizer

# The output tensor that holds the embedding, per role (docs/repository-format.md).
VIDEO_OUTPUTS = {"video_pipeline": "video_embedding", "video_encoder": "clip_embedding"}
TEXT_OUTPUTS = {"text_encoder": "text_embedding"}
DECODER_ROLE = "text_decoder"
VIDEO_INPUT = "pixel_values_videos"
MATRYOSHKA = "jepa.matryoshka_dimensions"
# A world model (docs/world-model.md): one encoder and one or both ways to roll out, one world_space.
WORLD_ENCODER, WORLD_ROLLOUT, WORLD_PREDICTOR = "world_encoder", "world_rollout", "world_predictor"
WORLD_ROLES = (WORLD_ENCODER, WORLD_ROLLOUT, WORLD_PREDICTOR)
FORMAT_DOC = "docs/repository-format.md"


class _Parameters:
    """The `jepa.*` parameters of one served model, each required and typed."""

    def __init__(self, served: ServedModel) -> None:
        self.served = served

    def text(self, key: str) -> str:
        value = self.served.parameters.get(key, "")
        if not value:
            raise MalformedRepository(f"model {self.served.name}", f"parameter {key} is missing from its config.pbtxt (see {FORMAT_DOC})")
        return value

    def _malformed(self, key: str, expected: str) -> MalformedRepository:
        return MalformedRepository(f"model {self.served.name}", f"parameter {key}: got {self.text(key)!r}, expected {expected}")

    def integer(self, key: str, minimum: int) -> int:
        try:
            value = int(self.text(key))
        except ValueError as error:
            raise self._malformed(key, "an integer") from error
        if value < minimum:
            raise self._malformed(key, f"an integer of at least {minimum}")
        return value

    def floats(self, key: str, count: int) -> tuple[float, ...]:
        try:
            values = tuple(float(value) for value in self.text(key).split(","))
        except ValueError as error:
            raise self._malformed(key, f"{count} comma-separated floats") from error
        if len(values) != count:
            raise self._malformed(key, f"{count} comma-separated floats")
        return values

    def three_floats(self, key: str) -> tuple[float, float, float]:
        first, second, third = self.floats(key, 3)
        return first, second, third

    def dimensions(self, key: str, full: int) -> tuple[int, ...]:
        """An optional list of sizes below `full` (absent: none)."""
        if not self.served.parameters.get(key, ""):
            return ()
        try:
            sizes = tuple(sorted({int(value) for value in self.text(key).split(",")}, reverse=True))
        except ValueError as error:
            raise self._malformed(key, "comma-separated integers") from error
        if any(not 0 < size < full for size in sizes):
            raise self._malformed(key, f"sizes between 1 and {full - 1}")
        return sizes

    def file(self, repository: Path, name: str) -> Path:
        path = repository / self.served.name / name
        if not path.is_file():
            raise MalformedRepository(
                f"model {self.served.name}", f"{path} does not exist (is the gateway's model_repository the one Triton serves?)"
            )
        return path


ModelKind = Literal["video", "text", "world"]


@dataclass(frozen=True)
class ModelInfo:
    """What callers are told about a model."""

    name: str
    version: str
    dimension: int  # a world model's part: the width D of its tokens
    embedding_space: str  # empty for a world model's part: its tokens live in `world_space`
    # Smaller sizes the model was trained to be cut to (Matryoshka): `dimensions` may ask for one.
    truncatable_dimensions: tuple[int, ...] = ()
    role: str = ""  # jepa.role
    world_space: str = ""  # the world model a world_* part belongs to

    @property
    def kind(self) -> ModelKind:
        """Which API uses the model: video or text embeddings, or planning (a world model's part)."""
        return "world" if self.role in WORLD_ROLES else "text" if self.role in TEXT_OUTPUTS else "video"


def _info(served: ServedModel, output: str) -> ModelInfo:
    if output not in served.outputs:
        raise MalformedRepository(f"model {served.name}", f"role {served.role} needs an output {output}; its config.pbtxt has {sorted(served.outputs)}")
    parameters = _Parameters(served)
    dimension = served.output_dimension(output)
    return ModelInfo(
        served.name, served.version, dimension, parameters.text("jepa.embedding_space"), parameters.dimensions(MATRYOSHKA, dimension), served.role
    )


@dataclass(frozen=True)
class VideoModel:
    served: ServedModel
    geometry: ClipGeometry
    output: str
    info: ModelInfo

    @property
    def dimension(self) -> int:
        return self.info.dimension


@dataclass(frozen=True)
class TextModel:
    served: ServedModel
    tokenizer: TextTokenizer
    output: str
    info: ModelInfo

    @property
    def dimension(self) -> int:
        return self.info.dimension


@dataclass(frozen=True)
class DecoderModel:
    """A caption decoder: (embedding, token prefix) -> next-token logits over `vocabulary`."""

    served: ServedModel
    embedding_space: str
    vocabulary: list[str]
    bos_id: int
    eos_id: int
    max_caption_tokens: int


def _video_model(served: ServedModel) -> VideoModel:
    parameters = _Parameters(served)
    if VIDEO_INPUT not in served.inputs:
        raise MalformedRepository(f"model {served.name}", f"role {served.role} needs an input {VIDEO_INPUT}; its config.pbtxt has {sorted(served.inputs)}")
    geometry = ClipGeometry(
        frames_per_clip=parameters.integer("jepa.frames_per_clip", 1),
        crop_size=parameters.integer("jepa.crop_size", 1),
        resize_short_side=parameters.integer("jepa.resize_short_side", 1),
        tubelet_size=parameters.integer("jepa.tubelet_size", 1),
        image_mean=parameters.three_floats("jepa.image_mean"),
        image_std=parameters.three_floats("jepa.image_std"),
    )
    output = VIDEO_OUTPUTS[served.role]
    return VideoModel(served, geometry, output, _info(served, output))


def _text_model(served: ServedModel, repository: Path, token_bucket: int) -> TextModel:
    parameters = _Parameters(served)
    tokenizer = TextTokenizer(parameters.file(repository, "tokenizer.json"), parameters.integer("jepa.max_tokens", 1), token_bucket)
    output = TEXT_OUTPUTS[served.role]
    return TextModel(served, tokenizer, output, _info(served, output))


def _decoder_model(served: ServedModel, repository: Path) -> DecoderModel:
    parameters = _Parameters(served)
    return DecoderModel(
        served=served,
        embedding_space=parameters.text("jepa.embedding_space"),
        vocabulary=json.loads(parameters.file(repository, "vocabulary.json").read_text()),
        bos_id=parameters.integer("jepa.bos_id", 0),
        eos_id=parameters.integer("jepa.eos_id", 0),
        max_caption_tokens=parameters.integer("jepa.max_caption_tokens", 1),
    )


@dataclass(frozen=True, eq=False)
class WorldModel:
    """A served world model: what the planner needs to encode images, roll actions out and bound them."""

    world_space: str
    encoder: ServedModel
    # world_rollout (the whole horizon inside Triton) and/or world_predictor (one step, driven by the gateway).
    rollout: ServedModel | None
    predictor: ServedModel | None
    # One image: frames_per_clip 1, short side to crop_size, the encoder's mean and std.
    geometry: ClipGeometry
    tokens: int
    token_dim: int
    max_horizon: int
    max_action: np.ndarray  # (A,)
    state_low: np.ndarray  # (A,)
    state_high: np.ndarray  # (A,)
    # The checkpoint's recommended CEM settings (jepa.plan_defaults), under a request's own.
    plan_defaults: dict[str, float]

    @property
    def action_dim(self) -> int:
        return int(self.max_action.size)

    def parts(self) -> list[ModelInfo]:
        """Its served models (encoder, then rollout and/or predictor), as ListModels lists them."""
        served = [model for model in (self.encoder, self.rollout, self.predictor) if model is not None]
        return [ModelInfo(model.name, model.version, self.token_dim, "", role=model.role, world_space=self.world_space) for model in served]


def _plan_defaults(parameters: _Parameters, key: str = "jepa.plan_defaults") -> dict[str, float]:
    text = parameters.served.parameters.get(key, "")
    try:
        defaults = json.loads(text) if text else {}
        CEMSettings.model_validate(defaults)
    except ValueError as error:  # JSONDecodeError and pydantic's ValidationError are ValueErrors
        raise parameters._malformed(key, f"a JSON object of CEM settings ({', '.join(CEMSettings.model_fields)})") from error
    if set(defaults) - set(CEMSettings.model_fields):
        raise parameters._malformed(key, f"a JSON object of CEM settings ({', '.join(CEMSettings.model_fields)})")
    return defaults


# The tensors the planner feeds and reads, per world role (docs/world-model.md).
WORLD_TENSORS = {
    WORLD_ENCODER: (("pixel_values",), ("observation_tokens",)),
    WORLD_ROLLOUT: (("observation_tokens", "state", "goal_tokens", "actions"), ("energies",)),
    WORLD_PREDICTOR: (("context_tokens", "actions", "states"), ("next_tokens",)),
}


def _check_tensors(served: ServedModel) -> None:
    inputs, outputs = WORLD_TENSORS[served.role]
    for kind, names, declared in (("input", inputs, served.inputs), ("output", outputs, served.outputs)):
        missing = [name for name in names if name not in declared]
        if missing:
            raise MalformedRepository(f"model {served.name}", f"role {served.role} needs the {kind}s {list(names)}; its config.pbtxt has {sorted(declared)}")


def _world_model(world_space: str, parts: dict[str, ServedModel]) -> WorldModel:
    encoder = parts.get(WORLD_ENCODER)
    stepper = parts.get(WORLD_ROLLOUT) or parts.get(WORLD_PREDICTOR)
    if encoder is None or stepper is None:
        served = ", ".join(f"{role} {model.name}" for role, model in sorted(parts.items()))
        raise MalformedRepository(
            f"world_space {world_space}", f"a world model needs a {WORLD_ENCODER} and a {WORLD_ROLLOUT} or {WORLD_PREDICTOR}; Triton serves {served}"
        )
    for part in parts.values():
        _check_tensors(part)
    pixels, actions = _Parameters(encoder), _Parameters(stepper)
    crop_size = pixels.integer("jepa.crop_size", 1)
    action_dim = actions.integer("jepa.action_dim", 1)
    return WorldModel(
        world_space=world_space,
        encoder=encoder,
        rollout=parts.get(WORLD_ROLLOUT),
        predictor=parts.get(WORLD_PREDICTOR),
        geometry=ClipGeometry(
            frames_per_clip=1, crop_size=crop_size, resize_short_side=crop_size, tubelet_size=1,
            image_mean=pixels.three_floats("jepa.image_mean"), image_std=pixels.three_floats("jepa.image_std"),
        ),
        tokens=actions.integer("jepa.tokens", 1),
        token_dim=actions.integer("jepa.token_dim", 1),
        max_horizon=actions.integer("jepa.max_horizon", 1),
        max_action=np.asarray(actions.floats("jepa.max_action", action_dim), dtype=np.float32),
        state_low=np.asarray(actions.floats("jepa.state_low", action_dim), dtype=np.float32),
        state_high=np.asarray(actions.floats("jepa.state_high", action_dim), dtype=np.float32),
        plan_defaults=_plan_defaults(actions),
    )


def _world_models(served: dict[str, ServedModel]) -> dict[str, WorldModel]:
    """World models by world_space, from the models whose role is one of WORLD_ROLES."""
    spaces: dict[str, dict[str, ServedModel]] = {}
    for model in served.values():
        if model.role in WORLD_ROLES:
            parts = spaces.setdefault(_Parameters(model).text("jepa.world_space"), {})
            if model.role in parts:
                raise MalformedRepository(f"model {model.name}", f"{parts[model.role].name} is the {model.role} of the same world_space already")
            parts[model.role] = model
    return {space: _world_model(space, parts) for space, parts in spaces.items()}


class ModelRegistry:
    """Built once from Triton's repository at start-up (and again when Triton comes back)."""

    def __init__(self, served: dict[str, ServedModel], repository: Path, token_bucket: int, default_video: str = "", default_text: str = "") -> None:
        self.video: dict[str, VideoModel] = {name: _video_model(model) for name, model in served.items() if model.role in VIDEO_OUTPUTS}
        self.text: dict[str, TextModel] = {
            name: _text_model(model, repository, token_bucket) for name, model in served.items() if model.role in TEXT_OUTPUTS
        }
        self.decoders: dict[str, DecoderModel] = {
            name: _decoder_model(model, repository) for name, model in served.items() if model.role == DECODER_ROLE
        }
        self.worlds: dict[str, WorldModel] = _world_models(served)
        self.default_video = default_video or self._first_by_role(self.video, ("video_pipeline", "video_encoder"))
        self.default_text = default_text or self._first_by_role(self.text, ("text_encoder",))

    @staticmethod
    def _first_by_role(models: dict, roles: tuple[str, ...]) -> str:
        for role in roles:
            for name, model in sorted(models.items()):
                if model.served.role == role:
                    return name
        return ""

    def video_model(self, name: str) -> VideoModel:
        return self._lookup(self.video, name or self.default_video, "video")

    def text_model(self, name: str) -> TextModel:
        return self._lookup(self.text, name or self.default_text, "text")

    def world_model(self, name: str) -> WorldModel:
        """The world model of a world_space or of an encoder name ("" = the first world_space)."""
        by_encoder = {world.encoder.name: world for world in self.worlds.values()}
        if name in by_encoder:
            return by_encoder[name]
        return self._lookup(self.worlds, name or min(self.worlds, default=""), "world")

    def models(self) -> list[ModelInfo]:
        """Every video and text model, then every world model's parts, as callers see them."""
        models: list[VideoModel | TextModel] = [*self.video.values(), *self.text.values()]
        return [model.info for model in models] + [part for _, world in sorted(self.worlds.items()) for part in world.parts()]

    def decoder_for(self, video: VideoModel) -> DecoderModel:
        """The caption decoder that reads the video model's embedding space."""
        for decoder in self.decoders.values():
            if decoder.embedding_space == video.info.embedding_space:
                return decoder
        raise SpaceMismatch(
            "options.model", f"no caption decoder serves the embedding space of {video.info.name} ({video.info.embedding_space})"
        )

    @staticmethod
    def _lookup(models: dict, name: str, kind: str):
        if not models:
            raise NotFound("model", f"this server has no {kind} model")
        if name not in models:
            if len(name) > 200:
                raise InvalidInput("model", f"name of {len(name)} characters, at most 200")
            raise NotFound("model", f"{name!r} is not a served {kind} model; available: {sorted(models)}")
        return models[name]

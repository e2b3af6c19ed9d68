"""The models the gateway can use, resolved by name or by role from what Triton serves.

Everything the gateway needs to feed a model comes from the repository (docs/repository-format.md):
a parameter that is missing or malformed refuses the repository with an error naming the model and
the parameter, instead of serving with a guess.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from jepa_media import ClipGeometry

from jepa_server.backends.triton import ServedModel
from jepa_server.errors import InvalidInput, MalformedRepository, NotFound, SpaceMismatch
from jepa_server.text.tokenizer import TextTokenizer

# The output tensor that holds the embedding, per role (docs/repository-format.md).
VIDEO_OUTPUTS = {"video_pipeline": "video_embedding", "video_encoder": "clip_embedding"}
TEXT_OUTPUTS = {"text_encoder": "text_embedding"}
DECODER_ROLE = "text_decoder"
VIDEO_INPUT = "pixel_values_videos"
MATRYOSHKA = "jepa.matryoshka_dimensions"
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

    def three_floats(self, key: str) -> tuple[float, float, float]:
        try:
            values = tuple(float(value) for value in self.text(key).split(","))
        except ValueError as error:
            raise self._malformed(key, "3 comma-separated floats") from error
        if len(values) != 3:
            raise self._malformed(key, "3 comma-separated floats")
        return values

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


@dataclass(frozen=True)
class ModelInfo:
    """What callers are told about a model."""

    name: str
    version: str
    dimension: int
    embedding_space: str
    # Smaller sizes the model was trained to be cut to (Matryoshka): `dimensions` may ask for one.
    truncatable_dimensions: tuple[int, ...] = ()


def _info(served: ServedModel, output: str) -> ModelInfo:
    if output not in served.outputs:
        raise MalformedRepository(f"model {served.name}", f"role {served.role} needs an output {output}; its config.pbtxt has {sorted(served.outputs)}")
    parameters = _Parameters(served)
    dimension = served.output_dimension(output)
    return ModelInfo(served.name, served.version, dimension, parameters.text("jepa.embedding_space"), parameters.dimensions(MATRYOSHKA, dimension))


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

    def models(self) -> list[ModelInfo]:
        """Every video and text model, as callers see them."""
        models: list[VideoModel | TextModel] = [*self.video.values(), *self.text.values()]
        return [model.info for model in models]

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

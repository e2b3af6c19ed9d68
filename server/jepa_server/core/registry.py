"""The models the gateway can use, resolved by name or by role from what Triton serves."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from jepa_server.backends.triton import ServedModel
from jepa_server.errors import FailedPrecondition, InvalidInput, NotFound
from jepa_server.media.video import ClipGeometry
from jepa_server.text.tokenizer import TextTokenizer

# The output tensor that holds the embedding, per role (docs/repository-format.md).
VIDEO_OUTPUTS = {"video_pipeline": "video_embedding", "video_encoder": "clip_embedding"}
TEXT_OUTPUTS = {"text_encoder": "text_embedding"}
DECODER_ROLE = "text_decoder"
VIDEO_INPUT = "pixel_values_videos"


def _floats(text: str) -> tuple[float, float, float]:
    values = tuple(float(value) for value in text.split(","))
    if len(values) != 3:
        raise ValueError(f"expected 3 comma-separated floats, got {text!r}")
    return values  # type: ignore[return-value]


@dataclass(frozen=True)
class VideoModel:
    served: ServedModel
    geometry: ClipGeometry
    output: str

    @property
    def dimension(self) -> int:
        return self.served.output_dimension(self.output)


@dataclass(frozen=True)
class TextModel:
    served: ServedModel
    tokenizer: TextTokenizer
    output: str

    @property
    def dimension(self) -> int:
        return self.served.output_dimension(self.output)


@dataclass(frozen=True)
class DecoderModel:
    """A caption decoder: (embedding, token prefix) -> next-token logits over `vocabulary`."""

    served: ServedModel
    vocabulary: list[str]
    bos_id: int
    eos_id: int
    max_caption_tokens: int

    @classmethod
    def from_served(cls, served: ServedModel, repository: Path) -> DecoderModel:
        parameters = served.parameters
        return cls(
            served=served,
            vocabulary=json.loads((repository / served.name / "vocabulary.json").read_text()),
            bos_id=int(parameters.get("jepa.bos_id", "1")),
            eos_id=int(parameters.get("jepa.eos_id", "2")),
            max_caption_tokens=int(parameters.get("jepa.max_caption_tokens", "16")),
        )


def _video_model(served: ServedModel) -> VideoModel:
    parameters = served.parameters
    geometry = ClipGeometry(
        frames_per_clip=int(parameters["jepa.frames_per_clip"]),
        crop_size=int(parameters["jepa.crop_size"]),
        resize_short_side=int(parameters.get("jepa.resize_short_side", parameters["jepa.crop_size"])),
        tubelet_size=int(parameters.get("jepa.tubelet_size", "2")),
        image_mean=_floats(parameters.get("jepa.image_mean", "0.485,0.456,0.406")),
        image_std=_floats(parameters.get("jepa.image_std", "0.229,0.224,0.225")),
    )
    return VideoModel(served, geometry, VIDEO_OUTPUTS[served.role])


class ModelRegistry:
    """Built once from Triton's repository at start-up (and again when Triton comes back)."""

    def __init__(self, served: dict[str, ServedModel], repository: Path, token_bucket: int, default_video: str = "", default_text: str = "") -> None:
        self.video: dict[str, VideoModel] = {
            name: _video_model(model) for name, model in served.items() if model.role in VIDEO_OUTPUTS
        }
        self.text: dict[str, TextModel] = {
            name: TextModel(
                model,
                TextTokenizer(repository / name / "tokenizer.json", int(model.parameters.get("jepa.max_tokens", "256")), token_bucket),
                TEXT_OUTPUTS[model.role],
            )
            for name, model in served.items()
            if model.role in TEXT_OUTPUTS
        }
        self.decoders: dict[str, DecoderModel] = {
            name: DecoderModel.from_served(model, repository) for name, model in served.items() if model.role == DECODER_ROLE
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

    def decoder_for(self, video: VideoModel) -> DecoderModel:
        """The caption decoder that reads the video model's embedding space."""
        for decoder in self.decoders.values():
            if decoder.served.embedding_space == video.served.embedding_space:
                return decoder
        raise FailedPrecondition(
            "options.model", f"no caption decoder serves the embedding space of {video.served.name} ({video.served.embedding_space})"
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

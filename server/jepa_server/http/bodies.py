"""Request bodies into core types: JSON or multipart, validated by the schemas, every failure an
InvalidInput that names the field as the caller wrote it (`video.sampling.fps`, `input[2]`)."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any, TypeVar

import numpy as np
from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request

from jepa_server.core.embedding import SamplingRequest
from jepa_server.core.planning import EncodedImage, Goal, GoalEmbedding, Observation
from jepa_server.core.sources import MediaUri, RawFrames, RequestVideo
from jepa_server.errors import InvalidInput
from jepa_server.http import schemas

ModelT = TypeVar("ModelT", bound=BaseModel)


def field_path(location: tuple[int | str, ...], prefix: str = "") -> str:
    """("items", 0, "video") -> "items[0].video"."""
    path = prefix
    for part in location:
        path += f"[{part}]" if isinstance(part, int) else f".{part}" if path else str(part)
    return path or "body"


def validated(model: type[ModelT], data: Any, prefix: str = "") -> ModelT:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        raise InvalidInput(field_path(first["loc"], prefix), first["msg"]) from None


async def json_body(request: Request, model: type[ModelT]) -> ModelT:
    raw = await request.body()
    if not raw.strip():
        raise InvalidInput("body", "empty; send a JSON object")
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as error:
        raise InvalidInput("body", f"not valid JSON ({error})") from None
    return validated(model, data)


def is_multipart(request: Request) -> bool:
    return request.headers.get("content-type", "").startswith("multipart/form-data")


def json_value(value: str | UploadFile, field: str) -> Any:
    """A JSON-valued form field."""
    if not isinstance(value, str):
        raise InvalidInput(field, "must be a form field, not a file")
    try:
        return json.loads(value)
    except ValueError as error:
        raise InvalidInput(field, f"not valid JSON ({error})") from None


def form_json(form: FormData, key: str, default: Any) -> Any:
    """A JSON-valued form field (absent: `default`)."""
    value = form.get(key)
    return default if value is None else json_value(value, key)


def form_text(form: FormData, key: str) -> str:
    value = form.get(key, "")
    if not isinstance(value, str):
        raise InvalidInput(key, "must be a form field, not a file")
    return value


def form_flag(form: FormData, key: str) -> bool:
    value = form_text(form, key).strip().lower()
    if value not in ("", "true", "false", "1", "0"):
        raise InvalidInput(key, f"got {value!r}, expected true or false")
    return value in ("true", "1")


def uploads(form: FormData, key: str = "file") -> list[UploadFile]:
    files = form.getlist(key)
    if any(not isinstance(file, UploadFile) for file in files):
        raise InvalidInput(key, "must be a file part")
    return [file for file in files if isinstance(file, UploadFile)]


def _base64(value: str, field: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as error:
        raise InvalidInput(field, f"not valid base64 ({error})") from None


def video_source(video: schemas.VideoInput, field: str = "video") -> RequestVideo:
    given = [name for name in ("uri", "encoded", "frames") if getattr(video, name) is not None]
    if len(given) != 1:
        raise InvalidInput(field, "set one of encoded, frames or uri")
    if video.uri is not None:
        return MediaUri(video.uri)
    if video.frames is not None:
        frames = video.frames
        data = _base64(frames.data, f"{field}.frames.data")
        return RawFrames(data=data, num_frames=frames.num_frames, height=frames.height, width=frames.width, fps=frames.fps)
    encoded = _base64(video.encoded or "", f"{field}.encoded")
    if not encoded:
        raise InvalidInput(f"{field}.encoded", "empty video")
    return encoded


async def upload_source(upload: UploadFile, field: str = "video") -> bytes:
    data = await upload.read()
    if not data:
        raise InvalidInput(f"{field}.encoded", "empty video")
    return data


def sampling_request(sampling: schemas.Sampling) -> SamplingRequest:
    return SamplingRequest(**sampling.model_dump())


def plan_observation(observation: schemas.PlanObservation) -> Observation:
    return Observation(EncodedImage(_base64(observation.image, "observation.image")), np.asarray(observation.state, dtype=np.float32))


def plan_goal(goal: schemas.PlanGoal) -> Goal:
    """The goal's one target; the core checks the tokens against the world model (size, world_space)."""
    if (goal.image is None) == (goal.embedding is None):
        raise InvalidInput("goal", "set one of image or embedding")
    if goal.image is not None:
        return EncodedImage(_base64(goal.image, "goal.image"))
    return GoalEmbedding(np.asarray(goal.embedding, dtype=np.float32), goal.world_space)

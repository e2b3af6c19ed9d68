"""The gateway's side of video preprocessing: which request field a video came in (so errors name
it) and preprocessing's refusals as domain errors. The preprocessing itself is `jepa_media`, the
same code the export stage verifies models with."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import jepa_media
from jepa_media import ClipGeometry, DecodeLimits, EncodedImage, PreparedVideo, RawFrames, SamplingPlan, WindowSpan

from jepa_server.errors import InvalidInput, LimitExceeded

__all__ = ["ClipGeometry", "DecodeLimits", "EncodedImage", "PreparedVideo", "RawFrames", "SamplingPlan", "SpooledVideo", "VideoSource", "WindowSpan", "prepare_video"]


@dataclass(frozen=True)
class SpooledVideo:
    """Encoded video bytes that arrived in pieces (EmbedVideoStream) and wait in a server-side file."""

    path: Path


VideoSource = bytes | Path | RawFrames | SpooledVideo | EncodedImage


def _field(source: VideoSource) -> str:
    if isinstance(source, RawFrames):
        return "video.frames"
    return "video.uri" if isinstance(source, Path) else "video.encoded"


def prepare_video(source: VideoSource, geometry: ClipGeometry, plan: SamplingPlan, limits: DecodeLimits, field: str = "") -> PreparedVideo:
    """Decode, sample, cut into windows and normalise: the whole CPU side of a video request.
    Errors name `field` ("" = the video field the source came in)."""
    media = source.path if isinstance(source, SpooledVideo) else source
    try:
        return jepa_media.prepare_video(media, geometry, plan, limits, field or _field(source))
    except jepa_media.VideoLimitExceeded as error:
        raise LimitExceeded(error.field, error.problem) from error
    except jepa_media.InvalidVideo as error:
        raise InvalidInput(error.field, error.problem) from error

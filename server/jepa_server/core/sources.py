"""What a request may give as its video, as every front end hands it to the core: encoded bytes,
raw frames, or a URI that the core resolves under the server's media roots (a policy, so it is
applied in one place whatever the transport)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from jepa_server.media.uri import resolve_media_uri
from jepa_server.media.video import RawFrames, VideoSource

__all__ = ["MediaUri", "RawFrames", "RequestVideo", "media_file", "resolve"]


@dataclass(frozen=True)
class MediaUri:
    """`path` or `file:///path` of a video the server reads itself."""

    uri: str


RequestVideo = bytes | RawFrames | MediaUri


def resolve(video: RequestVideo | VideoSource, media_roots: list[Path]) -> VideoSource:
    """The source to decode: a URI becomes a file under a media root, or an error naming video.uri."""
    if isinstance(video, MediaUri):
        return media_file(video.uri, media_roots, "video.uri")
    return video


def media_file(uri: str, media_roots: list[Path], field: str) -> Path:
    """The file a URI names under a media root (symlinks followed), or an error naming `field`."""
    return resolve_media_uri(uri, media_roots, field)

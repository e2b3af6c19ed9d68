"""The bad-input catalogue: requests that must be refused with a documented status and a message
naming the field. gRPC replays it as raw messages (tests/reliability/test_bad_input.py), HTTP as
the JSON and multipart requests that carry the same input (test_bad_input_http.py)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace

import grpc
import numpy as np

from jepa_client.v1 import common_pb2, embedding_pb2

INVALID = grpc.StatusCode.INVALID_ARGUMENT
EXHAUSTED = grpc.StatusCode.RESOURCE_EXHAUSTED
NOT_FOUND = grpc.StatusCode.NOT_FOUND


@dataclass(frozen=True)
class Case:
    method: str  # EmbedVideo, EmbedText or EmbedVideoStream
    build: Callable[[SimpleNamespace], object]  # env -> request message, raw bytes, or list of chunks
    code: grpc.StatusCode
    message: str  # regex the status message must match from its start

    @property
    def response_type(self):
        return embedding_pb2.EmbedTextResponse if self.method == "EmbedText" else embedding_pb2.EmbedVideoResponse


def encoded(data: bytes, **sampling: float) -> embedding_pb2.EmbedVideoRequest:
    return embedding_pb2.EmbedVideoRequest(video=common_pb2.VideoInput(encoded=data, sampling=common_pb2.Sampling(**sampling)))


def frames(data: bytes, num_frames: int, height: int, width: int, fps: float = 0.0) -> embedding_pb2.EmbedVideoRequest:
    message = common_pb2.Frames(data=data, num_frames=num_frames, height=height, width=width, fps=fps)
    return embedding_pb2.EmbedVideoRequest(video=common_pb2.VideoInput(frames=message))


def uri(value: str) -> embedding_pb2.EmbedVideoRequest:
    return embedding_pb2.EmbedVideoRequest(video=common_pb2.VideoInput(uri=value))


def texts(*values: str, model: str = "") -> embedding_pb2.EmbedTextRequest:
    return embedding_pb2.EmbedTextRequest(texts=list(values), model=model)


def with_invalid_utf8(message, placeholder: str) -> bytes:
    """`message` serialised, with the string `placeholder` replaced by as many bytes that are not UTF-8."""
    wire = message.SerializeToString()
    assert wire.count(placeholder.encode()) == 1
    return wire.replace(placeholder.encode(), b"\xff\xfe" * (len(placeholder) // 2))


def chunks(data: bytes, size: int = 4096, model: str = "") -> list[embedding_pb2.EmbedVideoChunk]:
    pieces = [data[start : start + size] for start in range(0, len(data), size)]
    return [embedding_pb2.EmbedVideoChunk(data=piece, model=model if index == 0 else "") for index, piece in enumerate(pieces)]


UINT32_MAX = 2**32 - 1

CATALOGUE: dict[str, Case] = {
    # Encoded files
    "empty file": Case("EmbedVideo", lambda env: encoded(b""), INVALID, r"video\.encoded: empty video"),
    "no source": Case("EmbedVideo", lambda env: embedding_pb2.EmbedVideoRequest(), INVALID, r"video: set one of encoded, frames or uri"),
    "truncated to its first 100 bytes": Case("EmbedVideo", lambda env: encoded(env.video[:100]), INVALID, r"video\.encoded: not a decodable video container"),
    "truncated to half": Case("EmbedVideo", lambda env: encoded(env.video[: len(env.video) // 2]), INVALID, r"video\.encoded: not a decodable video container"),
    "random bytes": Case("EmbedVideo", lambda env: encoded(np.random.default_rng(1).bytes(4096)), INVALID, r"video\.encoded: not a decodable video container"),
    "mp4 signature then garbage": Case(
        "EmbedVideo", lambda env: encoded(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 8), INVALID, r"video\.encoded: "
    ),
    "unknown codec (avc1 renamed)": Case(
        "EmbedVideo", lambda env: encoded(env.video.replace(b"avc1", b"zzzz")), INVALID, r"video\.encoded: the video stream's codec is unknown or not supported"
    ),
    "a PNG image": Case("EmbedVideo", lambda env: encoded(env.png), INVALID, r"video\.encoded: a still image \(png_pipe\), not a video"),
    "a WAV file": Case("EmbedVideo", lambda env: encoded(env.wav), INVALID, r"video\.encoded: the container has no video stream"),
    "audio-only mp4": Case("EmbedVideo", lambda env: encoded(env.audio_only), INVALID, r"video\.encoded: the container has no video stream"),
    "zero-frame mkv": Case(
        "EmbedVideo", lambda env: encoded(env.zero_frames), INVALID, r"video\.encoded: (not a decodable video container|the container has no video stream|the video has no decodable frames)"
    ),
    "8000x8000 in the header": Case(
        "EmbedVideo", lambda env: encoded(env.enormous), EXHAUSTED, r"video\.encoded: resolution 8000x8000 exceeds the limit of 8294400 pixels \(max_video_pixels\)"
    ),
    # Raw frames
    "frames: byte length off": Case("EmbedVideo", lambda env: frames(b"\x00" * 100, 2, 8, 8), INVALID, r"video\.frames\.data: got 100 bytes, expected 384 for uint8 2x8x8x3"),
    "frames: RGBA instead of RGB": Case("EmbedVideo", lambda env: frames(b"\x00" * 2 * 8 * 8 * 4, 2, 8, 8), INVALID, r"video\.frames\.data: got 512 bytes, expected 384"),
    "frames: float32 instead of uint8": Case(
        "EmbedVideo", lambda env: frames(np.zeros((2, 8, 8, 3), np.float32).tobytes(), 2, 8, 8), INVALID, r"video\.frames\.data: got 1536 bytes, expected 384"
    ),
    "frames: zero height": Case("EmbedVideo", lambda env: frames(b"", 2, 0, 8), INVALID, r"video\.frames: num_frames, height and width must be positive"),
    "frames: 1x64 pixels": Case("EmbedVideo", lambda env: frames(b"\x00" * 2 * 64 * 3, 2, 1, 64), INVALID, r"video\.frames: resolution 64x1: aspect ratio beyond 32:1"),
    "frames: fps NaN": Case("EmbedVideo", lambda env: frames(b"\x00" * 384, 2, 8, 8, fps=math.nan), INVALID, r"video\.frames\.fps: got nan"),
    "frames: fps negative": Case("EmbedVideo", lambda env: frames(b"\x00" * 384, 2, 8, 8, fps=-8), INVALID, r"video\.frames\.fps: got -8"),
    "frames: fps infinite": Case("EmbedVideo", lambda env: frames(b"\x00" * 384, 2, 8, 8, fps=math.inf), INVALID, r"video\.frames\.fps: got inf"),
    # Sampling
    "sampling: fps NaN": Case("EmbedVideo", lambda env: encoded(env.video, fps=math.nan), INVALID, r"sampling\.fps: got nan, must be between 0 and 1000"),
    "sampling: fps negative": Case("EmbedVideo", lambda env: encoded(env.video, fps=-1), INVALID, r"sampling\.fps: got -1"),
    "sampling: fps huge": Case("EmbedVideo", lambda env: encoded(env.video, fps=1e9), INVALID, r"sampling\.fps: got 1000000000"),
    "sampling: frames_per_clip odd": Case("EmbedVideo", lambda env: encoded(env.video, frames_per_clip=3), INVALID, r"sampling\.frames_per_clip: got 3"),
    "sampling: frames_per_clip huge": Case(
        "EmbedVideo", lambda env: encoded(env.video, frames_per_clip=UINT32_MAX - 1), INVALID, r"sampling\.frames_per_clip: got 4294967294"
    ),
    "sampling: max_windows huge": Case(
        "EmbedVideo", lambda env: encoded(env.video, max_windows=UINT32_MAX), EXHAUSTED, r"sampling\.max_windows: got 4294967295, the limit is 256"
    ),
    # Models
    "unknown video model": Case(
        "EmbedVideo", lambda env: embedding_pb2.EmbedVideoRequest(video=common_pb2.VideoInput(encoded=env.video), model="nope"), NOT_FOUND,
        r"model: 'nope' is not a served video model; available: \['vjepa2_encoder'\]",
    ),
    "unknown text model": Case("EmbedText", lambda env: texts("hello", model="nope"), NOT_FOUND, r"model: 'nope' is not a served text model"),
    "model name of 10k characters": Case("EmbedText", lambda env: texts("hello", model="m" * 10_000), INVALID, r"model: name of 10000 characters, at most 200"),
    # Texts
    "no texts": Case("EmbedText", lambda env: texts(), INVALID, r"texts: at least one text is required"),
    "blank text": Case("EmbedText", lambda env: texts("fine", " \n\t"), INVALID, r"texts\[1\]: empty text"),
    "257 texts": Case("EmbedText", lambda env: texts(*["word"] * 257), EXHAUSTED, r"texts: got 257 texts, the limit is 256"),
    "text of 20001 characters": Case("EmbedText", lambda env: texts("ok", "a" * 20_001), EXHAUSTED, r"texts\[1\]: 20001 characters, the limit is 20000"),
    # Bytes that are not a valid message (proto3 strings must be UTF-8)
    "text not UTF-8": Case("EmbedText", lambda env: with_invalid_utf8(texts("ok", "PLACEHOLDER!"), "PLACEHOLDER!"), INVALID, r"texts\[1\]: not valid UTF-8 at byte 0"),
    "model name not UTF-8": Case("EmbedText", lambda env: with_invalid_utf8(texts("ok", model="MODEL_"), "MODEL_"), INVALID, r"model: not valid UTF-8"),
    "uri not UTF-8": Case("EmbedVideo", lambda env: with_invalid_utf8(uri("clip.mp4"), "clip.mp4"), INVALID, r"video\.uri: not valid UTF-8"),
    "not protobuf at all": Case("EmbedText", lambda env: b"\xff\xff\xff\xff\xff", INVALID, r"request: malformed protobuf data"),
    # URIs
    "uri: ../ out of the root": Case("EmbedVideo", lambda env: uri(f"../{env.outside.parent.name}/{env.outside.name}"), INVALID, r"video\.uri: .* is outside the allowed media roots"),
    "uri: symlink pointing out": Case("EmbedVideo", lambda env: uri("link-out.mp4"), INVALID, r"video\.uri: 'link-out\.mp4' is outside the allowed media roots"),
    "uri: absolute path outside": Case("EmbedVideo", lambda env: uri(str(env.outside)), INVALID, r"video\.uri: .* is outside the allowed media roots"),
    "uri: file:///etc/passwd": Case("EmbedVideo", lambda env: uri("file:///etc/passwd"), INVALID, r"video\.uri: 'file:///etc/passwd' is outside the allowed media roots"),
    "uri: file:// with ../ after the root": Case("EmbedVideo", lambda env: uri(f"file://{env.root}/../{env.outside.parent.name}/{env.outside.name}"), INVALID, r"video\.uri: .* is outside"),
    "uri: file:// with %2e%2e": Case("EmbedVideo", lambda env: uri(f"file://{env.root}/%2e%2e/{env.outside.parent.name}/{env.outside.name}"), INVALID, r"video\.uri: .* is outside"),
    "uri: file:// on another host": Case("EmbedVideo", lambda env: uri("file://evil.example/clip.mp4"), INVALID, r"video\.uri: remote host 'evil\.example' is not allowed"),
    "uri: http://": Case("EmbedVideo", lambda env: uri("http://example.com/clip.mp4"), INVALID, r"video\.uri: scheme 'http' is not allowed"),
    "uri: symlink loop": Case("EmbedVideo", lambda env: uri("loop-a"), INVALID, r"video\.uri: 'loop-a' cannot be resolved"),
    "uri: 5000 characters": Case("EmbedVideo", lambda env: uri("a" * 5000), INVALID, r"video\.uri: 5000 characters, at most 4096"),
    "uri: name too long for the file system": Case("EmbedVideo", lambda env: uri("a" * 4000), INVALID, r"video\.uri: 'a+\.\.\.$"),
    "uri: NUL byte": Case("EmbedVideo", lambda env: uri("clip\x00.mp4"), INVALID, r"video\.uri: contains a NUL byte"),
    "uri: empty": Case("EmbedVideo", lambda env: uri(""), INVALID, r"video\.uri: empty URI"),
    "uri: missing file": Case("EmbedVideo", lambda env: uri("missing.mp4"), NOT_FOUND, r"video\.uri: 'missing\.mp4' does not exist under the media roots"),
    "uri: a folder": Case("EmbedVideo", lambda env: uri("folder"), NOT_FOUND, r"video\.uri: 'folder' does not exist under the media roots"),
    "uri: a text file": Case("EmbedVideo", lambda env: uri("notes.txt"), INVALID, r"video\.uri: not a decodable video container"),
    # Uploads in pieces
    "upload: no chunk at all": Case("EmbedVideoStream", lambda env: [], INVALID, r"video\.encoded: empty video"),
    "upload: unknown model": Case("EmbedVideoStream", lambda env: chunks(env.video, model="nope"), NOT_FOUND, r"model: 'nope' is not a served video model"),
    "upload: a WAV file": Case("EmbedVideoStream", lambda env: chunks(env.wav), INVALID, r"video\.encoded: the container has no video stream"),
    "upload: truncated": Case("EmbedVideoStream", lambda env: chunks(env.video[: len(env.video) // 2]), INVALID, r"video\.encoded: not a decodable video container"),
}

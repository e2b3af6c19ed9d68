"""Decode a video (encoded bytes, a file, or raw frames) into model-ready clip windows.

CPU work from start to end: the gateway runs it in its decode process pool. Only the sampled
frames are resized and converted at all (`pixels.resize_and_crop`).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import numpy as np

from jepa_media.errors import InvalidVideo, VideoLimitExceeded
from jepa_media.pixels import ClipGeometry, normalise, resize_and_crop


@dataclass(frozen=True)
class SamplingPlan:
    """Which decoded frames are kept and how they are cut into windows."""

    frames_per_clip: int
    frame_step: int = 1
    # Resample to this rate (frames per second) instead of frame_step; 0 = off.
    fps: float = 0.0
    # Frames between window starts; 0 = frames_per_clip (no overlap).
    window_stride: int = 0
    max_windows: int = 256


@dataclass(frozen=True)
class DecodeLimits:
    max_decoded_frames: int = 4096
    max_video_seconds: float = 3600.0
    max_video_pixels: int = 3840 * 2160


@dataclass(frozen=True)
class RawFrames:
    """uint8 RGB frames T x H x W x 3 as sent by a client."""

    data: bytes
    num_frames: int
    height: int
    width: int
    fps: float = 0.0


@dataclass(frozen=True)
class EncodedImage:
    """One still image as file bytes (PNG, JPEG, anything FFmpeg decodes): an observation of a
    world model. Prepared as a one-frame video."""

    data: bytes


@dataclass(frozen=True)
class WindowSpan:
    index: int
    start_seconds: float
    end_seconds: float


@dataclass(frozen=True)
class PreparedVideo:
    """Normalised pixels of every window, (W, T, 3, S, S) float32, and where each window lies."""

    pixel_values: np.ndarray
    windows: list[WindowSpan]
    frames_decoded: int
    duration_seconds: float


@dataclass(frozen=True)
class _SampledFrames:
    frames: np.ndarray  # (N, S, S, 3) uint8, resized and cropped
    timestamps: np.ndarray  # (N,) seconds
    frame_seconds: float  # duration of one sampled frame
    frames_decoded: int
    duration_seconds: float


# Frames are resized by their short side, so a 1 x 8M "video" would become 73 x 584M pixels.
MAX_ASPECT_RATIO = 32


def _check_frame_size(field: str, width: int, height: int, limits: DecodeLimits) -> None:
    if width * height > limits.max_video_pixels:
        raise VideoLimitExceeded(field, f"resolution {width}x{height} exceeds the limit of {limits.max_video_pixels} pixels (max_video_pixels)")
    if min(width, height) > 0 and max(width, height) > MAX_ASPECT_RATIO * min(width, height):
        raise InvalidVideo(field, f"resolution {width}x{height}: aspect ratio beyond {MAX_ASPECT_RATIO}:1")


class _FrameSelector:
    """Keeps every `frame_step`-th frame, or one frame per 1/fps seconds when fps is set."""

    def __init__(self, plan: SamplingPlan) -> None:
        self.plan = plan
        self.next_time = 0.0

    def keep(self, index: int, timestamp: float) -> bool:
        if self.plan.fps > 0:
            if timestamp + 1e-6 < self.next_time:
                return False
            self.next_time += 1.0 / self.plan.fps
            while self.next_time <= timestamp:
                self.next_time += 1.0 / self.plan.fps
            return True
        return index % max(1, self.plan.frame_step) == 0

    def sampled_frame_seconds(self, source_fps: float) -> float:
        if self.plan.fps > 0:
            return 1.0 / self.plan.fps
        return max(1, self.plan.frame_step) / source_fps if source_fps > 0 else 0.0


def _frames_needed(plan: SamplingPlan) -> int:
    stride = plan.window_stride or plan.frames_per_clip
    return plan.frames_per_clip + stride * (plan.max_windows - 1)


# PyAV before 19 decodes metadata strictly unless told otherwise (a file with non-UTF-8 tags would
# fail to open); PyAV 19 removed the option (seen on the GPU machine, which carries PyAV 19).
OPEN_OPTIONS: dict[str, Any] = {"metadata_errors": "ignore"} if int(av.__version__.split(".")[0]) < 19 else {}


def _open_container(source: bytes | Path, field: str) -> av.container.InputContainer:
    if isinstance(source, bytes) and not source:
        raise InvalidVideo(field, "empty video")
    opened = io.BytesIO(source) if isinstance(source, bytes) else str(source)
    try:
        return av.open(opened, mode="r", **OPEN_OPTIONS)
    except (av.error.FFmpegError, OSError, ValueError) as error:
        raise InvalidVideo(field, f"not a decodable video container ({error})") from error


def _decode_image(image: EncodedImage, limits: DecodeLimits, field: str) -> RawFrames:
    with _open_container(image.data, field) as container:
        if not container.streams.video:
            raise InvalidVideo(field, "not an image: no picture stream")
        try:
            frame = next(container.decode(video=0), None)
        except av.error.FFmpegError as error:
            raise InvalidVideo(field, f"cannot decode the image ({error})") from error
    if frame is None:
        raise InvalidVideo(field, "the image has no decodable picture")
    _check_frame_size(field, frame.width, frame.height, limits)
    return RawFrames(frame.to_ndarray(format="rgb24").tobytes(), 1, frame.height, frame.width)


def _sample_encoded(source: bytes | Path, geometry: ClipGeometry, plan: SamplingPlan, limits: DecodeLimits, field: str) -> _SampledFrames:
    with _open_container(source, field) as container:
        if not container.streams.video:
            raise InvalidVideo(field, "the container has no video stream")
        if container.format.name == "image2" or container.format.name.endswith("_pipe"):
            raise InvalidVideo(field, f"a still image ({container.format.name}), not a video; send one image as frames")
        stream = container.streams.video[0]
        if stream.codec_context is None:
            raise InvalidVideo(field, "the video stream's codec is unknown or not supported")
        # From the container headers, before anything is decoded; every frame is checked again.
        _check_frame_size(field, stream.codec_context.width, stream.codec_context.height, limits)
        header_seconds = float(stream.duration * stream.time_base) if stream.duration and stream.time_base else (container.duration or 0) / 1e6
        if header_seconds > limits.max_video_seconds:
            raise VideoLimitExceeded(field, f"duration {header_seconds:.1f} s exceeds the limit of {limits.max_video_seconds:.0f} s")
        source_fps = float(stream.average_rate or stream.guessed_rate or 0.0)
        stream.thread_type = "AUTO"
        selector = _FrameSelector(plan)
        wanted = _frames_needed(plan)
        frames: list[np.ndarray] = []
        timestamps: list[float] = []
        decoded = 0
        last_time = 0.0
        try:
            for frame in container.decode(stream):
                decoded += 1
                if decoded > limits.max_decoded_frames:
                    raise VideoLimitExceeded(field, f"more than {limits.max_decoded_frames} frames decoded (max_decoded_frames)")
                _check_frame_size(field, frame.width, frame.height, limits)
                timestamp = float(frame.time) if frame.time is not None else (decoded - 1) / (source_fps or 1.0)
                last_time = timestamp
                if selector.keep(decoded - 1, timestamp):
                    frames.append(resize_and_crop(frame, geometry))
                    timestamps.append(timestamp)
                    if len(frames) >= wanted:
                        break
        except av.error.FFmpegError as error:
            if not frames:
                raise InvalidVideo(field, f"cannot decode video frames ({error})") from error
            # A truncated tail: keep what decoded cleanly, as players do.
    if not frames:
        raise InvalidVideo(field, "the video has no decodable frames")
    frame_seconds = selector.sampled_frame_seconds(source_fps) or (1.0 / 25)
    duration = max(header_seconds, last_time + (1.0 / source_fps if source_fps else frame_seconds))
    return _SampledFrames(np.stack(frames), np.asarray(timestamps), frame_seconds, decoded, duration)


def _sample_raw(raw: RawFrames, geometry: ClipGeometry, plan: SamplingPlan, limits: DecodeLimits, field: str) -> _SampledFrames:
    if min(raw.num_frames, raw.height, raw.width) <= 0:
        raise InvalidVideo(field, f"num_frames, height and width must be positive, got {raw.num_frames}x{raw.height}x{raw.width}")
    if not 0 <= raw.fps < float("inf"):
        raise InvalidVideo(f"{field}.fps", f"got {raw.fps}, need a finite rate >= 0 (0 = unknown)")
    expected = raw.num_frames * raw.height * raw.width * 3
    if len(raw.data) != expected:
        raise InvalidVideo(f"{field}.data", f"got {len(raw.data)} bytes, expected {expected} for uint8 {raw.num_frames}x{raw.height}x{raw.width}x3")
    _check_frame_size(field, raw.width, raw.height, limits)
    if raw.num_frames > limits.max_decoded_frames:
        raise VideoLimitExceeded(f"{field}.num_frames", f"got {raw.num_frames}, the limit is {limits.max_decoded_frames}")
    array = np.frombuffer(raw.data, dtype=np.uint8).reshape(raw.num_frames, raw.height, raw.width, 3)
    fps = raw.fps if raw.fps > 0 else 0.0
    selector = _FrameSelector(plan)
    wanted = _frames_needed(plan)
    frames, timestamps = [], []
    for index, image in enumerate(array):
        timestamp = index / fps if fps else float(index)
        if selector.keep(index, timestamp):
            frames.append(resize_and_crop(av.VideoFrame.from_ndarray(image, format="rgb24"), geometry))
            timestamps.append(timestamp)
            if len(frames) >= wanted:
                break
    frame_seconds = selector.sampled_frame_seconds(fps) if fps else float(max(1, plan.frame_step))
    duration = raw.num_frames / fps if fps else float(raw.num_frames)
    return _SampledFrames(np.stack(frames), np.asarray(timestamps), frame_seconds, raw.num_frames, duration)


def _cut_windows(sampled: _SampledFrames, plan: SamplingPlan) -> tuple[np.ndarray, list[WindowSpan]]:
    """Windows of frames_per_clip frames every stride frames. A video shorter than one window, or
    a tail of at least half a window, is padded by repeating its last frame."""
    count = len(sampled.frames)
    length = plan.frames_per_clip
    stride = plan.window_stride or length
    starts = list(range(0, max(count - length, 0) + 1, stride))
    tail_start = starts[-1] + stride
    if count > length and tail_start < count and count - tail_start >= length / 2:
        starts.append(tail_start)
    starts = starts[: plan.max_windows]
    windows, spans = [], []
    for index, start in enumerate(starts):
        picked = np.arange(start, start + length).clip(max=count - 1)
        windows.append(sampled.frames[picked])
        last = min(start + length, count) - 1
        spans.append(
            WindowSpan(index, float(sampled.timestamps[start]), float(sampled.timestamps[last] + sampled.frame_seconds))
        )
    return np.stack(windows), spans


def prepare_video(
    source: bytes | Path | RawFrames | EncodedImage, geometry: ClipGeometry, plan: SamplingPlan, limits: DecodeLimits, field: str = "video"
) -> PreparedVideo:
    """Decode, sample, cut into windows and normalise; errors name `field` (the caller's name for
    the video, e.g. the request field it came in)."""
    if isinstance(source, EncodedImage):
        source = _decode_image(source, limits, field)
    if isinstance(source, RawFrames):
        sampled = _sample_raw(source, geometry, plan, limits, field)
    else:
        sampled = _sample_encoded(source, geometry, plan, limits, field)
    frames, spans = _cut_windows(sampled, plan)
    return PreparedVideo(normalise(frames, geometry.image_mean, geometry.image_std), spans, sampled.frames_decoded, sampled.duration_seconds)

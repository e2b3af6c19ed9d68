"""jepa_media, the one preprocessing: the same input gives the same pixels bit for bit whichever
way it arrives and whichever stage asks, and the normalisation is exactly (x/255 - mean)/std."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from jepa_export.vljepa.config import Preprocessing
from jepa_export.vljepa.model import normalise_pixels
from jepa_media import ClipGeometry, DecodeLimits, InvalidVideo, RawFrames, SamplingPlan, VideoLimitExceeded, normalise, prepare_video
from support.media import moving_bar_frames, write_video

GEOMETRY = ClipGeometry(frames_per_clip=8, crop_size=64, resize_short_side=73, image_mean=(0.5, 0.4, 0.3), image_std=(0.2, 0.25, 0.3))
PLAN = SamplingPlan(frames_per_clip=8)


def test_normalise_is_the_direct_formula_to_the_bit():
    frames = np.random.default_rng(0).integers(0, 256, size=(2, 3, 5, 7, 3), dtype=np.uint8)
    mean, std = np.asarray(GEOMETRY.image_mean, np.float32), np.asarray(GEOMETRY.image_std, np.float32)
    direct = np.moveaxis((frames.astype(np.float32) / np.float32(255.0) - mean) / std, -1, -3)
    np.testing.assert_array_equal(normalise(frames, GEOMETRY.image_mean, GEOMETRY.image_std), direct)


def test_a_file_and_its_bytes_give_the_same_pixels(tmp_path):
    video = write_video(tmp_path / "clip.mp4", moving_bar_frames(20), fps=8)
    from_file = prepare_video(video, GEOMETRY, PLAN, DecodeLimits())
    from_bytes = prepare_video(video.read_bytes(), GEOMETRY, PLAN, DecodeLimits())
    np.testing.assert_array_equal(from_file.pixel_values, from_bytes.pixel_values)
    assert from_file.pixel_values.shape == (3, 8, 3, 64, 64)  # 20 frames: two windows and a tail of 4 padded
    assert [(span.start_seconds, span.end_seconds) for span in from_file.windows] == [(0.0, 1.0), (1.0, 2.0), (2.0, 2.5)]


def test_raw_frames_at_crop_size_are_only_normalised():
    frames = moving_bar_frames(8, height=64, width=64, seed=3)
    geometry = ClipGeometry(frames_per_clip=8, crop_size=64, resize_short_side=64)
    prepared = prepare_video(RawFrames(frames.tobytes(), 8, 64, 64, fps=8), geometry, PLAN, DecodeLimits())
    np.testing.assert_array_equal(prepared.pixel_values[0], normalise(frames, geometry.image_mean, geometry.image_std))


def test_the_training_normalisation_is_the_gateways():
    frames = np.random.default_rng(1).integers(0, 256, size=(2, 8, 64, 64, 3), dtype=np.uint8)
    preprocessing = Preprocessing(frames_per_clip=8, crop_size=64)
    expected = normalise(frames, preprocessing.image_mean, preprocessing.image_std)
    assert torch.equal(normalise_pixels(frames, preprocessing), torch.from_numpy(expected))


@pytest.mark.parametrize(
    ("source", "field", "error", "problem"),
    [
        (b"", "video.encoded", InvalidVideo, "empty video"),
        (b"not a video at all", "video.encoded", InvalidVideo, "not a decodable video container"),
        (RawFrames(b"\x00" * 10, 1, 2, 2), "video.frames", InvalidVideo, "video.frames.data: got 10 bytes, expected 12"),
        (RawFrames(b"\x00" * 12 * 5000, 5000, 2, 2), "video.frames", VideoLimitExceeded, "video.frames.num_frames: got 5000, the limit is 4096"),
    ],
)
def test_refusals_name_the_field_the_caller_gave(source, field, error, problem):
    with pytest.raises(error) as refused:
        prepare_video(source, GEOMETRY, PLAN, DecodeLimits(), field=field)
    assert str(refused.value).startswith(field) and problem in str(refused.value)

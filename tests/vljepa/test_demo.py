from pathlib import Path

import numpy as np
import pytest

from jepa_export.demo import (
    ALL_CLASSES,
    TRAINING_TEMPLATES,
    MultiEventSettings,
    RenderSettings,
    canonical_captions,
    generate_clips,
    generate_multi_event_video,
    heldout_gallery,
    read_mp4,
    write_mp4,
)

SMALL = RenderSettings(frames_per_clip=8, frame_size=64)


def shape_centroids(frames: np.ndarray) -> np.ndarray:
    """(T, 2) x, y of the saturated pixels: backgrounds are muted, only the shape is saturated."""
    as_int = frames.astype(int)
    saturation = as_int.max(axis=-1) - as_int.min(axis=-1)
    centroids = []
    for mask in saturation > 80:
        ys, xs = np.nonzero(mask)
        centroids.append((xs.mean(), ys.mean()))
    return np.array(centroids)


def test_same_split_and_seed_give_identical_clips():
    first = generate_clips("train", 7, 6, SMALL)
    second = generate_clips("train", 7, 6, SMALL)
    assert np.array_equal(first.frames, second.frames)
    assert np.array_equal(first.class_indices, second.class_indices)


def test_other_seed_or_split_gives_other_clips():
    reference = generate_clips("train", 7, 6, SMALL).frames
    assert not np.array_equal(reference, generate_clips("train", 8, 6, SMALL).frames)
    assert not np.array_equal(reference, generate_clips("heldout", 7, 6, SMALL).frames)


def test_clip_frames_have_the_requested_layout():
    batch = generate_clips("train", 0, 3, RenderSettings(frames_per_clip=4, frame_size=32))
    assert batch.frames.shape == (3, 4, 32, 32, 3)
    assert batch.frames.dtype == np.uint8


@pytest.mark.parametrize("seed", range(3))
def test_shape_moves_in_the_direction_its_caption_names(seed):
    batch = generate_clips("train", seed, 16, SMALL)
    expected = {"left": (-1, 0), "right": (1, 0), "up": (0, -1), "down": (0, 1)}
    for frames, attributes, caption in zip(batch.frames, batch.attributes, batch.captions):
        assert attributes.named_in(caption)
        motion = shape_centroids(frames)[-1] - shape_centroids(frames)[0]
        axis = int(np.argmax(np.abs(motion)))
        assert (axis, int(np.sign(motion[axis]))) in [
            (0, expected[attributes.direction][0]),
            (1, expected[attributes.direction][1]),
        ], caption


def shape_touches_an_edge(frames: np.ndarray) -> bool:
    as_int = frames.astype(int)
    saturated = (as_int.max(axis=-1) - as_int.min(axis=-1)) > 80
    return bool(saturated[:, 0, :].any() or saturated[:, -1, :].any() or saturated[:, :, 0].any() or saturated[:, :, -1].any())


def test_wrap_fraction_renders_that_share_of_clips_crossing_the_frame_edge():
    inside = generate_clips("train", 4, 40, SMALL)
    assert not any(shape_touches_an_edge(frames) for frames in inside.frames)
    mixed = generate_clips("train", 4, 40, SMALL, wrap_fraction=0.5)
    crossing = sum(shape_touches_an_edge(frames) for frames in mixed.frames)
    assert 10 <= crossing <= 30
    all_wrapping = generate_clips("train", 4, 40, SMALL, wrap_fraction=1.0)
    assert sum(shape_touches_an_edge(frames) for frames in all_wrapping.frames) > crossing


def test_shape_pixels_have_the_colour_its_caption_names():
    batch = generate_clips("train", 3, 24, SMALL)
    channel_order = {"red": (0, 1), "green": (1, 0), "blue": (2, 0), "yellow": (0, 2)}
    for frames, attributes in zip(batch.frames, batch.attributes):
        as_int = frames[0].astype(int)
        shape_pixels = as_int[(as_int.max(-1) - as_int.min(-1)) > 80]
        strong, weak = channel_order[attributes.colour]
        assert shape_pixels[:, strong].mean() > shape_pixels[:, weak].mean() + 60, attributes


def test_paraphrases_use_words_the_training_grammar_never_uses():
    training_captions = {attributes.caption(template) for attributes in ALL_CLASSES for template in TRAINING_TEMPLATES}
    for attributes in ALL_CLASSES:
        for paraphrase in attributes.paraphrases():
            assert paraphrase not in training_captions
            assert not attributes.named_in(paraphrase)


def test_canonical_captions_are_unique_per_class():
    assert len(set(canonical_captions())) == len(ALL_CLASSES) == 48


def test_heldout_gallery_holds_every_class_equally():
    gallery = heldout_gallery(clips_per_class=2, settings=RenderSettings(frames_per_clip=4, frame_size=32))
    assert np.array_equal(np.bincount(gallery.class_indices), np.full(48, 2))


def test_multi_event_video_events_tile_the_video_with_known_boundaries():
    video = generate_multi_event_video("heldout", 5, MultiEventSettings(num_events=5, fps=8.0), SMALL)
    assert video.events[0].start_frame == 0
    assert video.events[-1].end_frame == len(video.frames)
    for before, after in zip(video.events, video.events[1:]):
        assert before.end_frame == after.start_frame
        assert before.attributes != after.attributes
    for event in video.events:
        assert 2 * 8 <= event.end_frame - event.start_frame <= 4 * 8
        assert event.start_seconds == event.start_frame / 8.0
        motion = shape_centroids(video.frames[event.start_frame : event.end_frame])
        assert video.event_at(event.start_frame) == event
        assert np.abs(motion[-1] - motion[0]).max() > 5


def test_windows_inside_events_never_straddle_a_boundary():
    video = generate_multi_event_video("heldout", 6, MultiEventSettings(num_events=4, fps=8.0), SMALL)
    windows = video.windows_inside_events(8)
    assert windows
    for start, event in windows:
        assert start % 8 == 0
        assert event.start_frame <= start and start + 8 <= event.end_frame
    straddling = [start for start in range(0, len(video.frames) - 7, 8) if start not in dict(windows)]
    for start in straddling:
        assert video.event_at(start) != video.event_at(start + 7)


def test_mp4_round_trip_keeps_frames_close(tmp_path: Path):
    video = generate_multi_event_video("heldout", 1, MultiEventSettings(num_events=2), SMALL)
    path = write_mp4(video.frames, tmp_path / "demo.mp4", fps=video.fps)
    decoded = read_mp4(path)
    assert decoded.shape == video.frames.shape
    assert np.abs(decoded.astype(int) - video.frames.astype(int)).mean() < 4


def test_mp4_writer_rejects_odd_frame_sizes(tmp_path: Path):
    with pytest.raises(ValueError, match="even width and height"):
        write_mp4(np.zeros((2, 33, 32, 3), dtype=np.uint8), tmp_path / "odd.mp4")

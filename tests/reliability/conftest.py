"""A raw caller of the session gateway, and the media the bad-input catalogue sends."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace

import pytest

from support import bad_media
from support.calls import RawCaller
from support.gateway import GatewayThread
from support.media import moving_bar_frames, write_video


@pytest.fixture(scope="module")
def raw_caller(gateway: GatewayThread) -> Iterator[RawCaller]:
    caller = RawCaller(gateway.address)
    yield caller
    caller.close()


@pytest.fixture(scope="module")
def env(gateway, tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    """Media files, and a media root holding symlinks out, a loop, a folder and a text file."""
    root = gateway.settings.media_roots[0]
    outside_dir = tmp_path_factory.mktemp("outside")
    video = write_video(outside_dir / "private.mp4", moving_bar_frames(16, seed=11), fps=8)
    for name, target in (("link-out.mp4", video), ("loop-a", root / "loop-b"), ("loop-b", root / "loop-a")):
        if not (root / name).is_symlink():
            (root / name).symlink_to(target)
    (root / "folder").mkdir(exist_ok=True)
    (root / "notes.txt").write_text("not a video\n")
    return SimpleNamespace(
        root=root, outside=video, video=video.read_bytes(), png=bad_media.still_png(), wav=bad_media.wav_audio(),
        audio_only=bad_media.audio_only_mp4(), zero_frames=bad_media.zero_frame_mkv(), enormous=bad_media.enormous_resolution_mkv(),
    )

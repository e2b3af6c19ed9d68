"""`jepa describe FILE`: the caption timeline of a video, one line per caption as the server streams
it, against the real gateway and Triton serving a tiny VL-JEPA."""

from __future__ import annotations

import json
import re

import pytest

from jepa_client.cli import main
from support.media import moving_bar_frames, write_video

CAPTION_LINE = re.compile(r"^ *(\d+\.\d\d)- *(\d+\.\d\d) s  (.+)  \((\d\.\d\d)\)$")


@pytest.fixture()
def video(tmp_path):
    # 24 frames at 4 fps: six windows of the tiny model's 4 frames, one second each.
    return write_video(tmp_path / "bar.mp4", moving_bar_frames(24, height=32, width=32, seed=4), fps=4)


def describe(capsys, address: str, *arguments: str) -> tuple[int, list[str], str]:
    code = main(["--address", address, "describe", *arguments])
    captured = capsys.readouterr()
    return code, captured.out.splitlines(), captured.err


def test_describe_prints_one_line_per_caption_with_its_span_text_and_confidence(vljepa_gateway, video, capsys):
    code, lines, _ = describe(capsys, vljepa_gateway.address, str(video), "--mode", "uniform")
    assert code == 0
    spans = [CAPTION_LINE.match(line) for line in lines]
    assert all(spans), lines
    assert [(float(span[1]), float(span[2])) for span in spans] == [(float(second), float(second + 1)) for second in range(6)]
    assert all(0 < float(span[4]) <= 1 for span in spans)


def test_describe_json_gives_one_object_per_caption(vljepa_gateway, video, capsys):
    code, lines, _ = describe(capsys, vljepa_gateway.address, str(video), "--mode", "selective", "--threshold", "2.0", "--json")
    assert code == 0
    (caption,) = map(json.loads, lines)  # threshold 2: the whole video is one segment
    assert (caption["first_window"], caption["last_window"], caption["start_seconds"], caption["end_seconds"]) == (0, 5, 0.0, 6.0)
    assert caption["decoder_steps"] >= 1 and isinstance(caption["text"], str)


def test_describe_reports_the_servers_refusal_and_exits_1(vljepa_gateway, video, capsys):
    code, lines, err = describe(capsys, vljepa_gateway.address, str(video), "--threshold", "3")
    assert (code, lines) == (1, [])
    assert err.startswith("jepa: INVALID_ARGUMENT: options.threshold: got 3.0")


def test_describe_of_a_missing_file_is_a_usage_error(vljepa_gateway, tmp_path, capsys):
    with pytest.raises(SystemExit) as exited:
        main(["--address", vljepa_gateway.address, "describe", str(tmp_path / "missing.mp4")])
    assert exited.value.code == 2 and "missing.mp4" in capsys.readouterr().err

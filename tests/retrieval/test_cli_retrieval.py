"""`jepa index | search | delete | stats`, in-process against the session gateway."""

from __future__ import annotations

import json
import uuid

import pytest

from jepa_client.cli import main
from support.media import moving_bar_frames, write_video


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture()
def library(tmp_path):
    """A folder of videos, one nested, plus a file that is not a video and one that is corrupt."""
    root = tmp_path / uuid.uuid4().hex[:8]
    (root / "nested").mkdir(parents=True)
    write_video(root / "a.mp4", moving_bar_frames(24, seed=101))
    write_video(root / "nested" / "b.mkv", moving_bar_frames(24, seed=102), container_format="matroska")
    (root / "notes.txt").write_text("not a video")
    return root


def test_index_recurses_skips_what_is_indexed_and_reindexes_on_request(gateway, index_backend, library, capsys):
    address = ("--address", gateway.address)
    code, out, _ = run(capsys, *address, "index", str(library), "--root", str(library.parent), "--metadata", '{"library": "cli"}')
    assert (code, out) == (0, "indexed 2 videos (6 windows), skipped 0 already indexed, failed 0\n")
    code, out, _ = run(capsys, *address, "index", str(library), "--root", str(library.parent))
    assert (code, out) == (0, "indexed 0 videos (0 windows), skipped 2 already indexed, failed 0\n")
    code, out, _ = run(capsys, *address, "index", str(library / "nested"), "--root", str(library.parent), "--reindex")
    assert (code, out) == (0, "indexed 1 videos (3 windows), skipped 0 already indexed, failed 0\n")

    code, out, _ = run(capsys, *address, "search", "--video", str(library / "a.mp4"), "-k", "1", "--filter", 'metadata["library"] == "cli"')
    lines = out.splitlines()
    assert code == 0 and lines[0].startswith("model vjepa2_encoder v1 (64-d, space ")
    assert lines[1].startswith(f"  1. {library.name}/a.mp4  score ")

    code, out, _ = run(capsys, *address, "stats", "--json")
    stats = json.loads(out)
    small_index = {"milvus-lite": "FLAT", "milvus": "HNSW"}[index_backend]
    assert code == 0 and stats["backend"] == index_backend and stats["index_type"] == small_index and stats["rows"] >= 6

    code, out, _ = run(capsys, *address, "delete", f"{library.name}/a.mp4", "missing.mp4")
    assert (code, out) == (0, "deleted 1 videos (3 rows)\nnot indexed: missing.mp4\n")


def test_index_reports_a_corrupt_file_and_exits_1(gateway, library, capsys):
    (library / "broken.mp4").write_bytes(b"\x00" * 100)
    code, out, err = run(capsys, "--address", gateway.address, "index", str(library / "broken.mp4"), "--root", str(library.parent))
    assert code == 1
    assert out == "indexed 0 videos (0 windows), skipped 0 already indexed, failed 1\n"
    assert f"jepa: {library.name}/broken.mp4: INVALID_ARGUMENT: video.encoded: " in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["index", "/nonexistent/videos"], "/nonexistent/videos: no such file or folder"),
        (["index", "--metadata", "[1]", "."], "--metadata: must be a JSON object, got list"),
        (["index", "--metadata", "{oops", "."], "--metadata: not valid JSON"),
        (["index", "--batch", "0", "."], "--batch: got 0, need 1 to 256"),
        (["search"], "one of the arguments TEXT --video is required"),
        (["search", "a dog", "--video", "x.mp4"], "not allowed with argument"),
    ],
)
def test_retrieval_usage_errors_exit_2_before_connecting(capsys, argv, message):
    with pytest.raises(SystemExit) as exited:
        main(["--address", "127.0.0.1:1", *argv])
    assert exited.value.code == 2
    assert message in capsys.readouterr().err


def test_index_refuses_files_outside_the_root(library, tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["--address", "127.0.0.1:1", "index", str(library / "a.mp4"), "--root", str(library / "nested")])
    assert "outside --root" in capsys.readouterr().err

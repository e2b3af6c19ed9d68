"""The `jepa` command, run in-process against the real localhost test server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest

from jepa_client.cli import main

if TYPE_CHECKING:
    from conftest import Pki, RunningServer


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_models_lists_name_version_dimension_and_space(server: RunningServer, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--address", server.address, "models")
    assert code == 0
    assert out.splitlines() == ["vjepa2_encoder v1 (4-d, space vjepa2)", "text_encoder v3 (4-d, space minilm)"]


def test_embed_text_prints_first_values_and_norm_per_text(server: RunningServer, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--address", server.address, "embed-text", "ab", "c")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "model  text_encoder v3 (4-d, space minilm)"
    expected_norm = np.linalg.norm(server.servicer.text_vector("ab", 0))
    assert lines[1] == f"[0] 'ab'  [+2.0000, +0.0000, +97.0000, +0.5000] norm {expected_norm:.4f}"
    assert lines[2].startswith("[1] 'c'  [+1.0000, +1.0000, +99.0000")


def test_embed_text_json_prints_the_full_vectors(server: RunningServer, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--address", server.address, "embed-text", "--json", "--model", "text_encoder", "ab", "c")
    assert code == 0
    document = json.loads(out)
    assert document["texts"] == ["ab", "c"]
    assert document["model"]["name"] == "text_encoder"
    assert document["embeddings"] == [server.servicer.text_vector("ab", 0), server.servicer.text_vector("c", 1)]
    assert server.servicer.received[0].request.model == "text_encoder"


def test_embed_video_sends_the_file_and_sampling_and_prints_windows(
    server: RunningServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "clip.mp4").write_bytes(bytes(300))
    code, out, _ = run(
        capsys, "--address", server.address, "embed-video", str(tmp_path / "clip.mp4"),
        "--frames-per-clip", "16", "--frame-step", "2", "--windows",
    )
    assert code == 0
    request = server.servicer.received[0].request
    assert request.video.encoded == bytes(300) and request.return_windows
    assert (request.video.sampling.frames_per_clip, request.video.sampling.frame_step) == (16, 2)
    lines = out.splitlines()
    assert lines[0] == "model      vjepa2_encoder v1 (4-d, space vjepa2)"
    assert lines[1] == f"embedding  [+300.0000, +0.0000, +0.0000, +1.0000] norm {np.linalg.norm([300, 0, 0, 1]):.4f}"
    assert lines[2] == "video      16 frames, 2 windows, 1.00 s"
    assert lines[4].startswith("window 1   0.50-1.00 s  [+301.0000, +1.0000")


def test_embed_video_json_has_embedding_and_windows(server: RunningServer, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "clip.mp4").write_bytes(b"abc")
    code, out, _ = run(capsys, "--address", server.address, "embed-video", str(tmp_path / "clip.mp4"), "--windows", "--json")
    document = json.loads(out)
    assert code == 0
    assert document["embedding"] == [3.0, 0.0, 0.0, 1.0]
    assert [window["embedding"] for window in document["windows"]] == [[3.0, 0.0, 0.0, 1.0], [4.0, 1.0, 1.0, 2.0]]
    assert document["model"]["embedding_space"] == "vjepa2"


def test_address_comes_from_jepa_address_env(
    server: RunningServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JEPA_ADDRESS", server.address)
    assert run(capsys, "models")[0] == 0
    assert len(server.servicer.received) == 1


def test_token_file_is_sent_as_bearer_token(server: RunningServer, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "token").write_text("from-file\n")
    run(capsys, "--address", server.address, "--token-file", str(tmp_path / "token"), "models")
    assert server.servicer.received[0].metadata["authorization"] == "Bearer from-file"


def test_timeout_becomes_the_call_deadline(server: RunningServer, capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "--address", server.address, "--timeout", "3", "models")
    assert 2.0 < server.servicer.received[0].time_remaining <= 3.1


def test_tls_ca_and_server_name_connect_over_tls(
    tls_server: RunningServer, pki: Pki, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "ca.pem").write_bytes(pki.ca)
    code, out, _ = run(
        capsys, "--address", tls_server.address, "--tls-ca", str(tmp_path / "ca.pem"),
        "--tls-server-name", pki.server_name, "models",
    )
    assert code == 0 and "vjepa2_encoder" in out


def test_server_error_prints_one_line_and_exits_1(server: RunningServer, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "--address", server.address, "embed-text", "--model", "status:INVALID_ARGUMENT", "a")
    assert code == 1
    assert out == ""
    assert err == "jepa: INVALID_ARGUMENT: model: forced INVALID_ARGUMENT\n"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["frobnicate"], "invalid choice"),
        (["embed-text"], "the following arguments are required: TEXT"),
        (["embed-video", "/nonexistent/clip.mp4"], "No such file or directory"),
        (["--timeout", "0", "models"], "--timeout: got 0, need > 0"),
        (["embed-video", "x.mp4", "--frames-per-clip", "-3"], "--frames-per-clip: got -3, need >= 0"),
        (["--token", "a", "--token-file", "b", "models"], "not allowed with argument"),
        (["--tls-cert", "/nonexistent/cert.pem", "models"], "No such file or directory"),
        (["--tls-cert", __file__, "models"], "certificate_chain and private_key: mutual TLS needs both"),
        ([], "the following arguments are required: COMMAND"),
    ],
)
def test_usage_errors_exit_2_with_a_message_and_no_traceback(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    err = capsys.readouterr().err
    assert exited.value.code == 2
    assert message in err
    assert "Traceback" not in err


def test_help_shows_examples_and_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    out = capsys.readouterr().out
    assert exited.value.code == 0
    assert "examples:" in out and "jepa embed-video clip.mp4" in out and "JEPA_ADDRESS" in out


def test_the_sdk_reaches_jepa_address_when_given_no_address(server: RunningServer, monkeypatch: pytest.MonkeyPatch) -> None:
    from jepa_client import Client

    monkeypatch.setenv("JEPA_ADDRESS", server.address)
    with Client() as client:
        client.list_models()
    assert len(server.servicer.received) == 1

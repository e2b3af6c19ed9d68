"""The client is its own distribution: its wheel, installed into a fresh virtual environment, brings
grpcio, protobuf and numpy (and what they need) and nothing of the server or the export stage."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

CLIENTS = Path(__file__).resolve().parents[2] / "clients"
CLIENT_DEPENDENCIES = {"grpcio", "protobuf", "numpy"}
NEVER_WITH_THE_CLIENT = {"jepa-serve", "torch", "pydantic", "av", "tritonclient", "tqdm", "onnxruntime", "pymilvus"}


def run(*command: str | Path, timeout_s: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(part) for part in command], capture_output=True, text=True, timeout=timeout_s)


@pytest.fixture(scope="module")
def client_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Built from a copy of clients/, so the checkout gets no build folders."""
    source = tmp_path_factory.mktemp("client-source") / "clients"
    shutil.copytree(CLIENTS, source, ignore=shutil.ignore_patterns("*.egg-info", "__pycache__", "build"))
    wheels = tmp_path_factory.mktemp("wheels")
    built = run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--wheel-dir", wheels, source)
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = wheels.glob("jepa_client-*.whl")
    return wheel


def test_the_client_wheel_declares_exactly_grpcio_protobuf_and_numpy(client_wheel: Path) -> None:
    with zipfile.ZipFile(client_wheel) as wheel:
        metadata = next(name for name in wheel.namelist() if name.endswith(".dist-info/METADATA"))
        lines = wheel.read(metadata).decode().splitlines()
        packages = {name.split("/")[0] for name in wheel.namelist() if not name.split("/")[0].endswith(".dist-info")}
    requirements = [Requirement(line.removeprefix("Requires-Dist: ")) for line in lines if line.startswith("Requires-Dist: ")]
    assert {canonicalize_name(requirement.name) for requirement in requirements} == CLIENT_DEPENDENCIES
    assert str(next(r for r in requirements if r.name == "protobuf").specifier) == ">=6.33.5"
    assert packages == {"jepa_client"}


@pytest.mark.slow
def test_the_client_wheel_works_in_a_fresh_environment_without_the_server(client_wheel: Path, tmp_path: Path) -> None:
    environment = tmp_path / "venv"
    assert run(sys.executable, "-m", "venv", environment).returncode == 0
    python, jepa = environment / "bin" / "python", environment / "bin" / "jepa"
    installed = run(python, "-m", "pip", "install", "--quiet", client_wheel)
    assert installed.returncode == 0, installed.stdout + installed.stderr

    listed = run(python, "-m", "pip", "list", "--format", "json")
    distributions = {canonicalize_name(entry["name"]) for entry in json.loads(listed.stdout)}
    assert CLIENT_DEPENDENCIES | {"jepa-client"} <= distributions
    assert not distributions & NEVER_WITH_THE_CLIENT, sorted(distributions & NEVER_WITH_THE_CLIENT)

    imported = run(python, "-c", "import jepa_client; from jepa_client import Client, AsyncClient; print(jepa_client.__file__)")
    assert imported.returncode == 0 and str(environment) in imported.stdout, imported.stderr
    help_text = run(jepa, "--help")
    assert help_text.returncode == 0 and "embed-video" in help_text.stdout and "JEPA_ADDRESS" in help_text.stdout
    for absent in ("jepa_server", "jepa_export", "jepa_media"):
        probe = run(python, "-c", f"import {absent}")
        assert probe.returncode != 0 and "ModuleNotFoundError" in probe.stderr, absent

"""The dependency rules of docs and ARCHITECTURE, read from the import statements themselves: the
stages meet only through files, the core and its adapters know no transport, and front ends see
core types only."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

CHECKOUT = Path(__file__).resolve().parents[1]
SERVER = CHECKOUT / "server" / "jepa_server"
EXPORT = CHECKOUT / "export" / "jepa_export"
MEDIA = CHECKOUT / "media" / "jepa_media"
CLIENT = CHECKOUT / "clients" / "jepa_client"
TRANSPORT_FREE = [
    SERVER / "core", SERVER / "media", SERVER / "text", SERVER / "backends", SERVER / "index", SERVER / "errors.py",
    SERVER / "tokens.py", SERVER / "admission.py", MEDIA,
]
TRANSPORTS = {"grpc", "fastapi", "starlette", "uvicorn"}
# What a front end may import from the server package: the core, its errors, settings, metrics, and
# what both front ends share (tokens and scopes, the admission limit).
SHARED_BY_FRONT_ENDS = (
    "jepa_server.core", "jepa_server.errors", "jepa_server.settings", "jepa_server.metrics", "jepa_server.tokens", "jepa_server.admission",
)


def python_files(*places: Path) -> list[Path]:
    return sorted(file for place in places for file in ([place] if place.is_file() else place.rglob("*.py")))


def imported_modules(file: Path) -> set[str]:
    """Every absolute module an import statement of the file names (at any depth of the file)."""
    modules = set()
    for node in ast.walk(ast.parse(file.read_text(), str(file))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules.add(node.module)
    return modules


def offenders(files: list[Path], forbidden) -> list[str]:
    return [f"{file.relative_to(CHECKOUT)}: {module}" for file in files for module in sorted(imported_modules(file)) if forbidden(module)]


def _top(module: str) -> str:
    return module.split(".")[0]


def test_the_rule_reader_sees_imports_inside_functions(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("import os\n\ndef late():\n    from grpc import StatusCode\n    import torch.nn\n")
    assert imported_modules(sample) == {"os", "grpc", "torch.nn"}


def test_core_adapters_errors_and_preprocessing_import_no_transport():
    def transport(module: str) -> bool:
        return _top(module) in TRANSPORTS or _top(module).startswith("grpc_")

    assert offenders(python_files(*TRANSPORT_FREE), transport) == []


@pytest.mark.parametrize("front_end", ["api", "http"])
def test_front_ends_import_core_types_never_adapter_types_nor_each_other(front_end: str):
    own = f"jepa_server.{front_end}"
    forbidden = lambda module: _top(module) == "jepa_server" and not module.startswith((own, *SHARED_BY_FRONT_ENDS))  # noqa: E731
    assert offenders(python_files(SERVER / front_end), forbidden) == []


@pytest.mark.parametrize(
    ("package", "never"),
    [
        (SERVER, {"torch", "jepa_export"}),
        (EXPORT, {"jepa_server", "jepa_client"}),
        (MEDIA, {"jepa_server", "jepa_export", "jepa_client", "torch", "grpc", "pydantic"}),
        (CLIENT, {"jepa_server", "jepa_export", "jepa_media", "torch", "pydantic", "tqdm"}),
    ],
    ids=["server", "export", "media", "client"],
)
def test_the_stages_meet_only_through_files(package, never):
    assert offenders(python_files(package), lambda module: _top(module) in never) == []


@pytest.mark.parametrize(
    ("package", "other"),
    [(SERVER, "jepa_export"), (EXPORT, "jepa_server"), (MEDIA, "jepa_server"), (MEDIA, "jepa_export")],
    ids=["server-runs-no-export", "export-runs-no-server", "media-runs-no-server", "media-runs-no-export"],
)
def test_no_stage_runs_another_stage_by_module_name(package, other):
    """Not even as `python -m other` in a subprocess: each stage has its own command."""
    assert [str(file.relative_to(CHECKOUT)) for file in python_files(package) if other in file.read_text()] == []


def test_jepa_serve_has_no_export_or_bench_command():
    from jepa_server.cli import build_parser

    commands = next(action for action in build_parser()._actions if action.dest == "command").choices
    assert set(commands) == {"triton", "serve", "up", "check", "demo", "migrate"}

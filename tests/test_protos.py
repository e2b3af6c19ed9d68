"""The committed gRPC stubs are what protos/ generates."""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_generated_stubs_are_current():
    spec = importlib.util.spec_from_file_location("generate", ROOT / "protos" / "generate.py")
    generate = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generate)
    for name, source in generate.render_stubs().items():
        committed = generate.STUB_DIR / name
        assert committed.is_file(), f"{name} missing: run python protos/generate.py"
        assert committed.read_text() == source, f"{name} is stale: run python protos/generate.py"

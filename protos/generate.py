"""Generate the Python gRPC stubs of protos/ into clients/jepa_client/v1.

protoc writes imports as `from jepa.v1 import x_pb2`; the stubs live inside `jepa_client`, so the
imports are rewritten to `from jepa_client.v1 import x_pb2` (the wire names stay `jepa.v1`).
Run `python protos/generate.py` after editing a .proto; a test checks the stubs are current.
"""

from __future__ import annotations

import re
import sys
import tempfile
from pathlib import Path

PROTO_ROOT = Path(__file__).resolve().parent
STUB_DIR = PROTO_ROOT.parent / "clients" / "jepa_client" / "v1"
_IMPORT = re.compile(r"^from jepa\.v1 import ", re.MULTILINE)


def render_stubs() -> dict[str, str]:
    """Run protoc on every jepa/v1 proto and return {file name: rewritten source}."""
    from grpc_tools import protoc

    protos = sorted(str(p.relative_to(PROTO_ROOT)) for p in (PROTO_ROOT / "jepa" / "v1").glob("*.proto"))
    with tempfile.TemporaryDirectory() as out:
        args = ["protoc", f"-I{PROTO_ROOT}", f"--python_out={out}", f"--pyi_out={out}", f"--grpc_python_out={out}", *protos]
        if protoc.main(args) != 0:
            raise SystemExit("protoc failed")
        generated = Path(out) / "jepa" / "v1"
        return {p.name: _IMPORT.sub("from jepa_client.v1 import ", p.read_text()) for p in sorted(generated.iterdir()) if p.is_file()}


def main() -> None:
    STUB_DIR.mkdir(parents=True, exist_ok=True)
    for stale in STUB_DIR.glob("*_pb2*.py*"):
        stale.unlink()
    for name, source in render_stubs().items():
        (STUB_DIR / name).write_text(source)
    (STUB_DIR / "__init__.py").write_text('"""Generated gRPC stubs of protos/jepa/v1 (python protos/generate.py)."""\n')
    print(f"wrote {len(list(STUB_DIR.glob('*_pb2*')))} files to {STUB_DIR}", file=sys.stderr)


if __name__ == "__main__":
    main()

"""`jepa-export` and `python -m jepa_export`: the export stage's command, which needs the
`[export]` extra (torch, transformers, ONNX); without it, one line says so."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    try:
        from jepa_export.cli import main as export
    except ImportError as error:
        print(f"jepa-export: needs the export extra, pip install 'jepa-serve[export]' ({error})", file=sys.stderr)
        return 2
    return export(argv)


if __name__ == "__main__":
    sys.exit(main())

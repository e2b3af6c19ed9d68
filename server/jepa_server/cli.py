"""`jepa-serve`: export models, run the local Triton, run the gateway, or all of it at once."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from pathlib import Path

from jepa_server.settings import Settings

EXAMPLES = """examples:
  jepa-serve export --random-vjepa2 tiny --out artifacts     # export (needs the [export] extra)
  jepa-serve triton --repository artifacts/repository/cpu    # the bundled tritonserver, on the CPU
  jepa-serve serve --triton-url 127.0.0.1:8001               # the gateway in front of any Triton
  jepa-serve up --repository artifacts/repository/cpu        # local Triton + gateway together
  jepa-serve bench run all                                    # the benchmarks (source checkout only)
Every gateway setting is also an environment variable with the prefix JEPA_ (e.g. JEPA_PORT).
"""


def _settings(args: argparse.Namespace, **overrides) -> Settings:
    given = {key: value for key, value in vars(args).items() if key in Settings.model_fields and value is not None}
    return Settings(**{**given, **overrides})


def _add_gateway_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", help="listen address (default 127.0.0.1; 0.0.0.0 for all)")
    parser.add_argument("--port", type=int, help="gRPC port (default 50051)")
    parser.add_argument("--metrics-port", dest="metrics_port", type=int, help="Prometheus port (default 9100)")
    parser.add_argument("--model-repository", dest="model_repository", type=Path, help="exported repository (tokenizers are read from it)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="jepa-serve", description="jepa-serve: JEPA embeddings on NVIDIA Triton.", epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--log-level", default=os.environ.get("JEPA_LOG_LEVEL", "INFO"))
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("export", help="export checkpoints to a Triton repository (see `jepa-serve export --help`)", add_help=False)
    commands.add_parser("bench", help="run the benchmarks of a source checkout (see `jepa-serve bench --help`)", add_help=False)
    triton = commands.add_parser("triton", help="run the tritonserver bundled in nvidia-pytriton on a repository")
    triton.add_argument("--repository", type=Path, default=Path("artifacts/repository/cpu"))
    triton.add_argument("--grpc-port", type=int)
    triton.add_argument("--http-port", type=int)
    triton.add_argument("--metrics-port", type=int)
    serve = commands.add_parser("serve", help="run the gRPC gateway in front of a running Triton")
    serve.add_argument("--triton-url", dest="triton_url", help="Triton gRPC address (default 127.0.0.1:8001)")
    _add_gateway_options(serve)
    up = commands.add_parser("up", help="run the local Triton and the gateway together")
    up.add_argument("--repository", type=Path, default=Path("artifacts/repository/cpu"))
    _add_gateway_options(up)
    return parser


def _exec_benchmarks(arguments: list[str]) -> None:
    """The benchmarks live beside the packages in a source checkout and import torch: run them
    as their own process, never inside the server."""
    checkout = Path(__file__).resolve().parents[2]
    if not (checkout / "benchmarks" / "__main__.py").is_file():
        sys.exit(f"jepa-serve bench: no benchmarks/ in {checkout}; the benchmarks need a source checkout")
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(checkout), os.environ.get("PYTHONPATH")]))}
    os.execvpe(sys.executable, [sys.executable, "-m", "benchmarks", *arguments], environment)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["export"]:
        # The export stage lives in its own package (torch); run it without importing it here.
        os.execvp(sys.executable, [sys.executable, "-m", "jepa_export", *argv[1:]])
    if argv[:1] == ["bench"]:
        _exec_benchmarks(argv[1:])
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from jepa_server.app import serve_forever
    from jepa_server.triton_local import LocalTriton, LocalTritonOptions, run_triton_forever

    if args.command == "triton":
        return run_triton_forever(
            LocalTritonOptions(repository=args.repository, grpc_port=args.grpc_port, http_port=args.http_port, metrics_port=args.metrics_port)
        )
    if args.command == "serve":
        asyncio.run(serve_forever(_settings(args)))
        return 0
    with LocalTriton(LocalTritonOptions(repository=args.repository)) as triton:
        print(f"tritonserver ready: grpc {triton.grpc_url}, metrics {triton.metrics_url}", flush=True)
        asyncio.run(serve_forever(_settings(args, triton_url=triton.grpc_url, model_repository=args.repository)))
    return 0


if __name__ == "__main__":
    sys.exit(main())

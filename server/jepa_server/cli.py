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
  jepa-serve check artifacts/repository/cpu                  # load it in the local Triton, one request per model
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
    triton.add_argument("--startup-timeout", type=float, default=120.0, help="seconds to load every model (large models take minutes on a CPU)")
    serve = commands.add_parser("serve", help="run the gRPC gateway in front of a running Triton")
    serve.add_argument("--triton-url", dest="triton_url", help="Triton gRPC address (default 127.0.0.1:8001)")
    _add_gateway_options(serve)
    up = commands.add_parser("up", help="run the local Triton and the gateway together")
    up.add_argument("--repository", type=Path, default=Path("artifacts/repository/cpu"))
    _add_gateway_options(up)
    check = commands.add_parser("check", help="load a repository in the local Triton and run one request per model")
    check.add_argument("repository", type=Path)
    return parser


async def _check_models(repository: Path, triton_url: str) -> int:
    """One request per video and text model, through the gateway's own adapters; every embedding
    must come back finite and L2-normalised."""
    import numpy as np

    from jepa_server.backends.triton import TritonBackend
    from jepa_server.core.registry import VIDEO_INPUT, ModelRegistry

    backend = TritonBackend(triton_url, timeout_s=120.0)
    try:
        served = await backend.discover()
        registry = ModelRegistry(served, repository, token_bucket=16)
        requests = {
            name: (model, {VIDEO_INPUT: np.random.default_rng(0).standard_normal((1, model.geometry.frames_per_clip, 3, model.geometry.crop_size, model.geometry.crop_size), np.float32)})
            for name, model in registry.video.items()
        }
        for name, model in registry.text.items():
            tokens = model.tokenizer.encode(["a dog catching a frisbee"])
            requests[name] = (model, {"input_ids": tokens.input_ids, "attention_mask": tokens.attention_mask})
        failures = 0
        for name, (model, inputs) in sorted(requests.items()):
            embedding = (await backend.infer(model.served, inputs, [model.output]))[model.output]
            norm = float(np.linalg.norm(embedding))
            ok = embedding.shape == (1, model.dimension) and bool(np.isfinite(embedding).all()) and abs(norm - 1.0) < 1e-3
            failures += not ok
            print(f"{name} (version {model.served.version}): {model.output} {embedding.shape}, norm {norm:.4f}: {'ok' if ok else 'FAILED'}")
        for name in sorted(set(served) - set(requests)):
            print(f"{name}: loaded (role {served[name].role}, no request defined)")
        if not requests:
            print(f"{repository}: no video or text model to check", file=sys.stderr)
        return 1 if failures or not requests else 0
    finally:
        await backend.close()


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
            LocalTritonOptions(
                repository=args.repository, grpc_port=args.grpc_port, http_port=args.http_port, metrics_port=args.metrics_port,
                startup_timeout_s=args.startup_timeout,
            )
        )
    if args.command == "serve":
        asyncio.run(serve_forever(_settings(args)))
        return 0
    if args.command == "check":
        from jepa_server.triton_local import TritonStartupError

        try:
            with LocalTriton(LocalTritonOptions(repository=args.repository)) as triton:
                return asyncio.run(_check_models(args.repository, triton.grpc_url))
        except TritonStartupError as error:
            print(f"jepa-serve check: {args.repository} does not load: {error}", file=sys.stderr)
            return 1
    with LocalTriton(LocalTritonOptions(repository=args.repository)) as triton:
        print(f"tritonserver ready: grpc {triton.grpc_url}, metrics {triton.metrics_url}", flush=True)
        asyncio.run(serve_forever(_settings(args, triton_url=triton.grpc_url, model_repository=args.repository)))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`jepa-serve`: run the local Triton, the gateway, or both; check a repository; run the demo;
migrate a running gateway's index to a new model (a client of it, like `jepa migrate`).

Models come from the export stage's own command (`jepa-export`); the two meet only through the
model repository it writes.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

from jepa_client import cli_migrate
from jepa_client.cli import add_connection_options, count, run_command

EXAMPLES = """examples:
  jepa-serve triton --repository artifacts/repository/cpu    # the bundled tritonserver, on the CPU
  jepa-serve serve --triton-url 127.0.0.1:8001               # the gateway in front of any Triton
  jepa-serve up --repository artifacts/repository/cpu        # local Triton + gateway together
  jepa-serve check artifacts/repository/cpu                  # load it in the local Triton, one request per model
  jepa-serve demo --repository artifacts/repository/cpu --media artifacts/demo-media   # index, search, caption
  jepa-serve demo --serve                                    # ... then keep the search page up on http://127.0.0.1:8080/
  jepa-serve migrate --to vljepa_video_v2 --queries q.jsonl  # re-index into a new model while searches go on, compare
  jepa-serve migrate --switch-to vljepa_video_v2             # then --rollback, or --drop-old (docs/operating.md)
Repositories are written by `jepa-export` (the [export] extra), demo media by `jepa-export demo-media`.
Every gateway setting is also an environment variable with the prefix JEPA_ (e.g. JEPA_PORT, JEPA_LOG_LEVEL).
"""


def _add_gateway_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", help="listen address (default 127.0.0.1; 0.0.0.0 for all)")
    parser.add_argument("--port", type=int, help="gRPC port (default 50051)")
    parser.add_argument("--metrics-port", dest="metrics_port", type=int, help="Prometheus port (default 9100)")
    parser.add_argument("--http-port", dest="http_port", type=int, help="HTTP/JSON API and search page port (default 8080)")
    parser.add_argument("--model-repository", dest="model_repository", type=Path, help="exported repository (tokenizers are read from it)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="jepa-serve", description="jepa-serve: JEPA embeddings on NVIDIA Triton.", epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--log-level", dest="log_level", help="DEBUG, INFO, WARNING or ERROR (env JEPA_LOG_LEVEL; default INFO)")
    commands = parser.add_subparsers(dest="command", required=True)
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
    demo = commands.add_parser(
        "demo", help="the VL-JEPA demo: index its videos, search them by text, caption multi-event videos",
        description="Start the local Triton and a gateway on a fresh index, then, as a client would: index the demo "
        "gallery, search it by text (ranked videos with moments, held-out R@1) and caption multi-event videos.",
    )
    demo.add_argument("--repository", type=Path, default=Path("artifacts/repository/cpu"), help="a VL-JEPA repository (default %(default)s)")
    demo.add_argument("--media", type=Path, default=Path("artifacts/demo-media"), help="written by `jepa-export demo-media` (default %(default)s)")
    demo.add_argument("--results", type=Path, help="also write the results here as JSON")
    demo.add_argument("--http-port", dest="http_port", type=int, help="the search page's port (default 8080)")
    demo.add_argument("--serve", action="store_true", help="keep serving the indexed demo (search page, APIs) after the results, until Ctrl-C")
    add_connection_options(cli_migrate.add_command(commands, count))
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if args.command == "migrate":
        return run_command(parser, args)
    try:
        from jepa_server.settings import Settings
    except ImportError as error:
        print(f"jepa-serve: needs the server extra, pip install 'jepa-serve[server]' ({error})", file=sys.stderr)
        return 2
    settings = Settings(**{key: value for key, value in vars(args).items() if key in Settings.model_fields and value is not None})
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from jepa_server.app import serve_forever
    from jepa_server.triton_local import LocalTriton, LocalTritonOptions, TritonStartupError, run_triton_forever

    if args.command == "triton":
        return run_triton_forever(
            LocalTritonOptions(
                repository=args.repository, grpc_port=args.grpc_port, http_port=args.http_port, metrics_port=args.metrics_port,
                startup_timeout_s=args.startup_timeout,
            )
        )
    if args.command == "serve":
        asyncio.run(serve_forever(settings))
        return 0
    if args.command == "check":
        from jepa_server.check import check_repository

        try:
            with LocalTriton(LocalTritonOptions(repository=args.repository)) as triton:
                return asyncio.run(check_repository(args.repository, triton.grpc_url))
        except TritonStartupError as error:
            print(f"jepa-serve check: {args.repository} does not load: {error}", file=sys.stderr)
            return 1
    if args.command == "demo":
        from jepa_server.demo import run_demo

        return run_demo(args.repository, args.media, settings, args.results, args.serve)
    with LocalTriton(LocalTritonOptions(repository=args.repository)) as triton:
        print(f"tritonserver ready: grpc {triton.grpc_url}, metrics {triton.metrics_url}", flush=True)
        asyncio.run(serve_forever(settings.model_copy(update={"triton_url": triton.grpc_url, "model_repository": args.repository})))
    return 0


if __name__ == "__main__":
    sys.exit(main())

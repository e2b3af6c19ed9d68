"""`jepa`: embed videos and texts, list models, index and search videos, diagnose an index and
migrate it to a new model from the command line (argparse, stdlib only)."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from jepa_client import cli_diagnose, cli_migrate, cli_planning, cli_retrieval
from jepa_client.client import Client
from jepa_client.errors import JepaError
from jepa_client.options import ADDRESS_VARIABLE, DEFAULT_ADDRESS, ClientOptions, TlsOptions, default_address
from jepa_client.results import Caption, ModelInfo, TextEmbeddings, VideoEmbedding

_SHOWN_VALUES = 4
# Deadlines of the commands whose calls take longer than ClientOptions' default, unless --timeout.
_DEFAULT_TIMEOUTS = {"diagnose": cli_diagnose.ANALYSIS_TIMEOUT_S, "migrate": cli_migrate.MIGRATION_TIMEOUT_S}

_EXAMPLES = """\
examples:
  jepa models
  jepa embed-video clip.mp4 --frames-per-clip 16 --windows
  jepa embed-text "a dog catching a frisbee" "a city at night" --json > texts.json
  jepa index videos/ --metadata '{"source": "archive"}'
  jepa search "a dog catching a frisbee" -k 5 --filter 'metadata["source"] == "archive"'
  jepa diagnose --drift-reference 2026-01-01:2026-02-01 --drift-current 2026-02-01: --html report.html
  jepa migrate --to vljepa_video_v2 --queries queries.jsonl --switch
  jepa plan --observation now.png --state 0.2,0.5 --goal goal.png --horizon 3 --samples 256
  jepa --address gpu-host:50051 --tls-ca ca.pem --token-file ~/.jepa-token models
"""


def _positive_float(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"got {text}, need > 0")
    return value


def count(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"got {text}, need >= 0")
    return value


def add_connection_options(parser: argparse.ArgumentParser) -> None:
    """How to reach the gateway: address, token, TLS, deadline (also `jepa-serve migrate`'s)."""
    parser.add_argument("--address", help=f"gateway host:port (default: env {ADDRESS_VARIABLE}, else {DEFAULT_ADDRESS})")
    token = parser.add_mutually_exclusive_group()
    token.add_argument("--token", help="bearer token sent with every call")
    token.add_argument("--token-file", type=Path, help="file holding the bearer token")
    parser.add_argument("--tls", action="store_true", help="use TLS, verifying the server with the system CAs")
    parser.add_argument("--tls-ca", type=Path, help="PEM of the CA that signed the server certificate (implies --tls)")
    parser.add_argument("--tls-cert", type=Path, help="client certificate PEM for mutual TLS (with --tls-key)")
    parser.add_argument("--tls-key", type=Path, help="client key PEM for mutual TLS (with --tls-cert)")
    parser.add_argument("--tls-server-name", help="name to verify in the server certificate instead of the host")
    parser.add_argument("--timeout", type=_positive_float,
                        help=f"deadline of the call in seconds, retries included (default {ClientOptions.timeout:g}; "
                        f"diagnose {cli_diagnose.ANALYSIS_TIMEOUT_S:g}, migrate {cli_migrate.MIGRATION_TIMEOUT_S:g})")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="jepa",
        description="Client of a jepa-serve gateway: video and text embeddings, video search and world-model planning over gRPC.",
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_connection_options(parser)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    video = commands.add_parser("embed-video", help="embed a video file", description="Send a video file and print its embedding.")
    video.add_argument("file", type=Path, metavar="FILE")
    video.add_argument("--model", default="", help="served model name (default: the server's video model)")
    video.add_argument("--frames-per-clip", type=count, default=0, help="frames per window (0: server default)")
    video.add_argument("--frame-step", type=count, default=0, help="take every N-th frame (0: server default)")
    video.add_argument("--windows", action="store_true", help="also print the embedding of every window")
    video.add_argument("--json", action="store_true", help="print the full result as JSON")

    text = commands.add_parser("embed-text", help="embed texts", description="Embed one or more texts.")
    text.add_argument("texts", nargs="+", metavar="TEXT")
    text.add_argument("--model", default="", help="served model name (default: the server's text model)")
    text.add_argument("--json", action="store_true", help="print the full result as JSON")

    models = commands.add_parser("models", help="list the served models", description="List the served models.")
    models.add_argument("--json", action="store_true", help="print the models as JSON")
    cli_retrieval.add_commands(commands, count)
    cli_diagnose.add_command(commands, count)
    cli_migrate.add_command(commands, count)
    cli_planning.add_command(commands, count)

    describe = commands.add_parser(
        "describe", help="caption a video as the server streams it",
        description="Print the timeline of captions of a video, each as soon as the server sends it.",
    )
    describe.add_argument("file", type=Path, metavar="FILE")
    describe.add_argument("--mode", choices=["selective", "uniform"], default="selective",
                          help="decode once per segment of constant meaning, or once per window (default %(default)s)")
    describe.add_argument("--segmentation", choices=["online", "offline"], default="", help="default: offline for a file")
    describe.add_argument("--threshold", type=float, default=0.0, help="cosine distance that starts a new segment (0: server default)")
    describe.add_argument("--max-tokens", type=count, default=0, help="longest caption in tokens (0: model default)")
    describe.add_argument("--json", action="store_true", help="one JSON object per caption")
    return parser


def _print_caption(caption: Caption, as_json: bool) -> None:
    if as_json:
        print(_json({"start_seconds": caption.start_seconds, "end_seconds": caption.end_seconds, "text": caption.text,
                     "confidence": caption.confidence, "first_window": caption.first_window, "last_window": caption.last_window,
                     "decoder_steps": caption.decoder_steps}), flush=True)
    else:
        print(f"{caption.start_seconds:7.2f}-{caption.end_seconds:7.2f} s  {caption.text}  ({caption.confidence:.2f})", flush=True)


def client_options(args: argparse.Namespace) -> ClientOptions:
    token = args.token_file.read_text().strip() if args.token_file else args.token
    tls = None
    if args.tls or args.tls_ca or args.tls_cert or args.tls_key or args.tls_server_name:
        tls = TlsOptions.from_files(args.tls_ca, args.tls_cert, args.tls_key, args.tls_server_name)
    timeout = args.timeout if args.timeout is not None else _DEFAULT_TIMEOUTS.get(args.command, ClientOptions.timeout)
    return ClientOptions(address=args.address or default_address(), tls=tls, token=token, timeout=timeout)


def _describe_model(model: ModelInfo) -> str:
    if model.world_space:
        return f"{model.name} v{model.version} ({model.role}, world space {model.world_space}, {model.dimension}-d tokens)"
    return f"{model.name} v{model.version} ({model.dimension}-d, space {model.embedding_space})"


def _describe_vector(vector: np.ndarray) -> str:
    shown = ", ".join(f"{value:+.4f}" for value in vector[:_SHOWN_VALUES])
    more = ", ..." if vector.size > _SHOWN_VALUES else ""
    return f"[{shown}{more}] norm {float(np.linalg.norm(vector)):.4f}"


def _json(value: Any) -> str:
    return json.dumps(value, default=lambda array: array.tolist())


def _print_video(result: VideoEmbedding, as_json: bool) -> None:
    if as_json:
        print(_json(dataclasses.asdict(result)))
        return
    print(f"model      {_describe_model(result.model)}")
    print(f"embedding  {_describe_vector(result.embedding)}")
    print(f"video      {result.frames_decoded} frames, {result.num_windows} windows, {result.duration_seconds:.2f} s")
    for window in result.windows:
        span = f"{window.start_seconds:.2f}-{window.end_seconds:.2f} s"
        print(f"window {window.index:<3} {span}  {_describe_vector(window.embedding)}")


def _print_texts(texts: Sequence[str], result: TextEmbeddings, as_json: bool) -> None:
    if as_json:
        print(_json({"model": dataclasses.asdict(result.model), "texts": list(texts), "embeddings": result.embeddings}))
        return
    print(f"model  {_describe_model(result.model)}")
    for position, (text, embedding) in enumerate(zip(texts, result.embeddings)):
        print(f"[{position}] {text!r}  {_describe_vector(embedding)}")


def _print_models(models: Sequence[ModelInfo], as_json: bool) -> None:
    if as_json:
        print(_json({"models": [dataclasses.asdict(model) for model in models]}))
        return
    for model in models:
        print(_describe_model(model))


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    return run_command(parser, parser.parse_args(argv))


def run_command(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    """Run the parsed command (with the options of `add_connection_options`); local problems end
    in `parser.error`, failed calls in exit status 1."""
    try:
        options = client_options(args)
        video = args.file.read_bytes() if args.command in ("embed-video", "describe") else b""
        prepared = cli_retrieval.prepare(args) or cli_diagnose.prepare(args) or cli_migrate.prepare(args) or cli_planning.prepare(args)
    except (OSError, ValueError) as error:
        parser.error(str(error))
    try:
        with Client(options) as client:
            if prepared is not None:
                return prepared(client)
            if args.command == "embed-video":
                result = client.embed_video(
                    video, frames_per_clip=args.frames_per_clip, frame_step=args.frame_step,
                    return_windows=args.windows, model=args.model,
                )
                _print_video(result, args.json)
            elif args.command == "describe":
                captions = client.describe(
                    video, mode=args.mode, segmentation=args.segmentation, threshold=args.threshold, max_caption_tokens=args.max_tokens,
                )
                for caption in captions:
                    _print_caption(caption, args.json)
            elif args.command == "embed-text":
                _print_texts(args.texts, client.embed_text(args.texts, model=args.model), args.json)
            else:
                _print_models(client.list_models(), args.json)
    except JepaError as error:
        print(f"jepa: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

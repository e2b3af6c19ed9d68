"""`python -m benchmarks`: run studies, drive ad-hoc load, regenerate RESULTS.md."""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import traceback
from pathlib import Path

from benchmarks.context import BENCH_DIR, BenchSettings, StudyContext

EXAMPLES = """examples:
  python -m benchmarks run all                    # every study (make bench), then RESULTS.md
  python -m benchmarks run batching gateway       # some studies
  python -m benchmarks run all --quick            # seconds-long smoke with the tiny model
  python -m benchmarks load --repository artifacts/repository/cpu --rpc text --concurrency 1 2 4 8 --rate 50
  python -m benchmarks report                     # rebuild plots and RESULTS.md from results/*.json
"""


def _settings(args: argparse.Namespace) -> BenchSettings:
    overrides = {name: getattr(args, name) for name in ("results_dir", "cache_dir") if getattr(args, name) is not None}
    if args.markdown is not None:
        overrides["results_markdown"] = args.markdown
    return BenchSettings.quick(**overrides) if getattr(args, "quick", False) else BenchSettings(**overrides)


def _command(argv: list[str]) -> str:
    return shlex.join(["python", "-m", "benchmarks", *argv])


def _report(settings: BenchSettings) -> None:
    from benchmarks.report import generate

    print(f"wrote {generate(settings.results_dir, settings.results_markdown, BENCH_DIR / 'analysis')}")


def _run(args: argparse.Namespace, argv: list[str]) -> int:
    from benchmarks.studies import STUDIES

    names = list(STUDIES) if args.studies == ["all"] else args.studies
    unknown = sorted(set(names) - set(STUDIES))
    if unknown:
        print(f"studies: unknown {unknown}, expected 'all' or some of {list(STUDIES)}", file=sys.stderr)
        return 2
    skipped_when_quick = {
        "search": "it fills indexes of 100,000 and 1,000,000 rows and starts a Milvus server",
        "model_sizes": "it exports ViT-L and ViT-g, the released sizes (about an hour on 2 cores)",
    }
    for name, reason in skipped_when_quick.items():
        if args.quick and name in names:
            names.remove(name)
            print(f"{name}: skipped with --quick ({reason})", flush=True)
    settings = _settings(args)
    context = StudyContext(settings, _command(argv))
    failed = []
    for name in names:
        print(f"== {name}", flush=True)
        try:
            print(f"wrote {STUDIES[name](context)}", flush=True)
        except Exception:  # noqa: BLE001 - one study's crash must not lose the others' results
            traceback.print_exc()
            failed.append(name)
            print(f"{name}: failed; its results file was not rewritten", file=sys.stderr, flush=True)
    if not args.no_report:
        _report(settings)
    if failed:
        print(f"studies that failed: {failed}", file=sys.stderr)
    return 1 if failed else 0


def _load(args: argparse.Namespace, argv: list[str]) -> int:
    from benchmarks.adhoc import AdHocLoad, run_adhoc

    settings = _settings(args)
    load = AdHocLoad(
        study=args.study, repository=args.repository, rpc=args.rpc, model=args.model, concurrency=args.concurrency,
        rates=args.rate, duration_s=args.duration, warmup_s=args.warmup, texts_per_request=args.texts_per_request,
    )
    print(f"wrote {run_adhoc(StudyContext(settings, _command(argv)), load)}")
    if not args.no_report:
        _report(settings)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__, epilog=EXAMPLES,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nice", type=int, default=10, help="niceness added to this process and its children (default 10)")
    commands = parser.add_subparsers(dest="command", required=True)

    def common(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--results-dir", type=Path, help="where JSON and PNG go (default benchmarks/results)")
        sub.add_argument("--cache-dir", type=Path, help="exports, media, logs (default benchmarks/.cache)")
        sub.add_argument("--markdown", type=Path, help="the RESULTS.md to update (default benchmarks/RESULTS.md)")
        sub.add_argument("--no-report", action="store_true", help="do not regenerate RESULTS.md and the plots")

    run = commands.add_parser("run", help="run studies ('all' or names)")
    run.add_argument("studies", nargs="+")
    run.add_argument("--quick", action="store_true", help="tiny model, short windows: the smoke that `make test` runs")
    common(run)
    load = commands.add_parser("load", help="closed-loop sweep and/or open-loop rates against one model of a repository")
    load.add_argument("--repository", type=Path, required=True, help="an exported cpu repository")
    load.add_argument("--rpc", choices=("text", "video"), default="text")
    load.add_argument("--model", default="", help="served model name (default: the gateway's default for the rpc)")
    load.add_argument("--concurrency", type=int, nargs="*", default=[1, 2, 4, 8, 16, 32, 64])
    load.add_argument("--rate", type=float, nargs="*", default=[], help="open-loop arrival rates, requests/s")
    load.add_argument("--duration", type=float, default=4.0, help="seconds measured per point")
    load.add_argument("--warmup", type=float, default=1.0, help="seconds before each point's window")
    load.add_argument("--texts-per-request", type=int, default=1)
    load.add_argument("--study", default="load", help="name of the JSON written (results/<study>.json)")
    common(load)
    report = commands.add_parser("report", help="regenerate plots and the RESULTS.md section from results/*.json")
    common(report)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser().parse_args(argv)
    if args.nice:
        os.nice(args.nice)
    if args.command == "run":
        return _run(args, argv)
    if args.command == "load":
        return _load(args, argv)
    _report(_settings(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())

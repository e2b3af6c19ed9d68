"""The "Model quality" section of RESULTS.md, generated from the evaluation JSON files:
`vljepa_eval.json` (offline, per backend), `retrieval_served.json` and `describe.json` (served).

    python -m benchmarks.quality_report
"""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks.results_markdown import RESULTS_MD, update_section

RESULTS_DIR = Path(__file__).with_name("results")
DEFAULT_COMMANDS = {
    "vljepa_eval": "python -m jepa_export.vljepa.evaluate --checkpoint models/vljepa-demo",
    "retrieval_served": "python -m benchmarks.retrieval_served --repository artifacts/repository/cpu --checkpoint models/vljepa-demo",
    "retrieval_served_fp16": (
        "jepa-export --vljepa models/vljepa-demo --out /tmp/art16 --target cpu --precision fp16 && python -m benchmarks.retrieval_served "
        "--repository /tmp/art16/repository/cpu --checkpoint models/vljepa-demo --results benchmarks/results/retrieval_served_fp16.json"
    ),
    "describe": "python -m benchmarks.describe_eval --repository artifacts/repository/cpu --checkpoint models/vljepa-demo",
    "diagnostics": "python -m benchmarks.diagnostics_eval --repository artifacts/repository/cpu",
}


def _load(name: str) -> dict | None:
    path = RESULTS_DIR / f"{name}.json"
    return json.loads(path.read_text()) if path.is_file() else None


def _number(value: object) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def render() -> str:
    lines = ["## Model quality (VL-JEPA demo checkpoint)", ""]
    offline = _load("vljepa_eval")
    if offline:
        lines += [f"Offline, held-out gallery: `{offline.get('command', DEFAULT_COMMANDS['vljepa_eval'])}`", ""]
        keys = ["template_r_at_1", "template_r_at_5", "template_map", "paraphrase_r_at_1", "classification_accuracy", "event_window_caption_accuracy"]
        lines += ["| backend | " + " | ".join(keys) + " |", "|---" * (len(keys) + 1) + "|"]
        lines += [f"| {backend} | " + " | ".join(_number(values.get(key, "-")) for key in keys) + " |" for backend, values in offline["backends"].items()]
        lines.append("")
    served = _load("retrieval_served")
    if served:
        lines += [
            f"Served retrieval (client → gateway → Triton → Milvus Lite): `{served.get('command', DEFAULT_COMMANDS['retrieval_served'])}`", "",
            f"- held-out template R@1 **{_number(served['template_r_at_1'])}** (offline {_number(served.get('offline_template_r_at_1'))}), "
            f"R@5 {_number(served['template_r_at_5'])}, over {served['gallery_clips']} clips sent as frames; as H.264 mp4: R@1 "
            f"{_number(served.get('template_r_at_1_h264', '-'))}",
            f"- moments: IoU ≥ 0.5 for **{served['moment_iou50_rate']:.1%}** of {served['moment_queries']} events "
            f"(mean IoU {served['moment_mean_iou']:.2f}) in {served['multi_event_videos']} multi-event videos",
            f"- ingest {served['ingest_videos_per_s']:.1f} videos/s, text search p50 {served['text_search_latency_ms_p50']:.0f} ms "
            f"({served['index']['backend']}, {served['index']['index_type']}, {served['index']['rows']} rows)",
            "",
        ]
    served_fp16 = _load("retrieval_served_fp16")
    if served_fp16:
        lines += [
            f"Served with the fp16 ONNX version (CPU ONNX Runtime): `{served_fp16.get('command', DEFAULT_COMMANDS['retrieval_served_fp16'])}`", "",
            f"- held-out template R@1 **{_number(served_fp16['template_r_at_1'])}** (offline fp32 torch {_number(served_fp16.get('offline_template_r_at_1'))}), "
            f"moments IoU ≥ 0.5 for {served_fp16['moment_iou50_rate']:.1%}",
            "",
        ]
    for name, segmentation in (("describe", "offline"), ("describe_online", "online")):
        describe = _load(name)
        if describe:
            lines += [f"Selective decoding (`Describe`, {segmentation} segmenter): `{describe.get('command', DEFAULT_COMMANDS['describe'])}`", ""]
            lines += _describe_lines(describe)
    cache = _load("decoder_cache")
    if cache:
        by_batch = sorted(cache["by_batch_size"].items(), key=lambda item: int(item[0]))
        lines += [f"Caption decoder step with or without a KV cache (ONNX Runtime, 1 thread): `{cache['command']}`", ""]
        lines += ["| batch | no cache ms/caption | KV cache ms/caption | KV cache speed-up | served (Triton, no cache) ms/caption |", "|---|---|---|---|---|"]
        lines += [
            f"| {batch} | {timing['no_cache_ms_per_caption']:.3f} | {timing['kv_cache_ms_per_caption']:.3f} | {timing['kv_cache_speedup']:.2f}× | "
            f"{_number(timing.get('served_no_cache_ms_per_caption', '-'))} |"
            for batch, timing in by_batch
        ]
        lines += ["", f"{cache['captions']} captions, {cache['tokens_per_caption']:.1f} tokens each; identical captions from every variant: {cache['identical_captions']}."]
        shares = {
            batch: (timing["no_cache_ms_per_caption"] - timing["kv_cache_ms_per_caption"]) / timing["served_no_cache_ms_per_caption"]
            for batch, timing in by_batch
            if "served_no_cache_ms_per_caption" in timing
        }
        if shares:
            lines.append(
                "The KV cache would save " + ", ".join(f"{share:.0%} at batch {batch}" for batch, share in shares.items())
                + " of a served caption's time, before the cost of sending every layer's keys and values to Triton and back on each "
                "step (the python backend keeps no state between calls), so the served decoder stays the full-prefix step."
            )
        lines.append("")
    sweep = _load("describe_threshold_sweep")
    if sweep:
        lines += [
            f"Threshold sweep on the train split, never the held-out videos: `{sweep['command']}`. The held-out figures above use "
            "the threshold with the most decoder calls saved while selective accuracy stays above uniform and boundaries are hit "
            "for at least 95% of events.",
            "",
        ]
        lines += ["| threshold | decoder calls selective / uniform | reduction | accuracy selective / uniform | boundary hit |", "|---|---|---|---|---|"]
        lines += [
            f"| {run['threshold']} | {run['decoder_calls_selective']} / {run['decoder_calls_uniform']} | {run['decoder_call_reduction']:.2f}× | "
            f"{run['accuracy_selective']:.3f} / {run['accuracy_uniform']:.3f} | {run['boundary_hit_rate']:.1%} |"
            for run in sweep["runs"]
        ]
        lines.append("")
    diagnostics = _load("diagnostics")
    if diagnostics:
        lines += [f"Index diagnostics (`AnalyzeIndex`) on a collection with injected trouble: `{diagnostics.get('command', DEFAULT_COMMANDS['diagnostics'])}`", ""]
        lines += _diagnostics_lines(diagnostics)
    return "\n".join(lines)


def _diagnostics_lines(result: dict) -> list[str]:
    return [
        f"- {result['rows_analyzed']:,} windows of {result['videos_analyzed']} videos, analysed in {result['analyze_seconds']:.1f} s "
        f"(load average {result['load_average_start'][0]:.2f} at the start)",
        f"- near-duplicates: precision **{result['duplicate_precision']:.3f}**, recall **{result['duplicate_recall']:.3f}** "
        f"({result['duplicate_pairs_reported']} pairs reported, {result['duplicate_pairs_true']} true: re-encoded copies and identical black videos)",
        f"- outliers: **{result['outliers_in_top5pct']:.0%}** of the {result['outlier_windows_injected']} injected black, noise and corrupt windows in the top 5% of scores",
        f"- coverage: the never-indexed class reported as a gap: **{result['missing_class_reported']}**; other classes' queries reported: "
        f"{result['gap_queries_other']} (threshold {result['coverage_threshold']:.3f}, automatic)",
        f"- drift between the two ingests: p = **{result['drift_p_value']:.4f}** ({result['drift_permutations']} permutations: the smallest p they can "
        f"show is 1/{result['drift_permutations'] + 1}); random halves of one ingest without a false alarm: **{result['no_false_alarm_splits']} of {result['no_false_alarm_splits'] + result['false_alarm_splits']}**",
        f"- cluster captions naming the cluster's dominant class: **{result['cluster_caption_accuracy']:.1%}** of {result['clusters']} clusters "
        f"({result['unclustered_windows']} windows in no cluster); effective rank {result['effective_rank']:.1f}",
        "",
    ]


def _describe_lines(describe: dict) -> list[str]:
    return [
        f"- decoder calls: selective **{describe['decoder_calls_selective']}** vs uniform {describe['decoder_calls_uniform']} "
        f"(**{describe['decoder_call_reduction']:.2f}×** fewer) on {describe['videos']} {describe['split']} multi-event videos",
        f"- caption accuracy over event time: selective **{describe['accuracy_selective']:.3f}** vs uniform {describe['accuracy_uniform']:.3f} "
        f"(difference {describe['accuracy_selective'] - describe['accuracy_uniform']:+.3f})",
        f"- segment boundaries within one window of the true boundary: **{describe['boundary_hit_rate']:.1%}**",
        "",
    ]


def main() -> None:
    update_section(RESULTS_MD, "quality", render())
    print(f"updated the quality section of {RESULTS_MD}")


if __name__ == "__main__":
    main()

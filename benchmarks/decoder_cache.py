"""Caption decoder step with or without a KV cache, in ONNX Runtime (the issue asks to measure both
and keep the faster).

- `no_cache`: the served `text_decoder` graph: (embedding, token prefix) -> next-token logits; every
  step recomputes the prefix.
- `kv_cache`: a prefill graph (embedding -> logits, keys, values) and a step graph (last token,
  past keys/values -> logits, keys, values); every step computes one position.

Both are exported here from the same checkpoint with the project's exporter and decoded greedily by
one loop, so only the graphs differ. Captions must come out identical. With `--repository`, the
served `text_decoder` is also timed through a local Triton (one gRPC call per token, as the
gateway decodes), which puts the graph-level saving next to what a served caption costs.

    python -m benchmarks.decoder_cache --checkpoint models/vljepa-demo --repository artifacts/repository/cpu
"""

from __future__ import annotations

import argparse
import json
import shlex
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime
import torch
import tritonclient.grpc as triton_grpc
from tqdm import tqdm

from jepa_export.demo import canonical_captions
from jepa_export.onnx_export import export_onnx
from jepa_export.vljepa.config import BOS_ID, EOS_ID, PAD_ID
from jepa_export.vljepa.model import VLJepa, load_vljepa
from jepa_export.vljepa.parts import YDecoder
from jepa_server.triton_local import LocalTriton, LocalTritonOptions

DEFAULT_RESULTS = Path("benchmarks/results/decoder_cache.json")
BATCH_SIZES = (1, 8, 32)  # 32: the served max_batch_size


class _Prefill(torch.nn.Module):
    """embedding (B, D) -> logits after [BOS] (B, V), keys and values (layers, B, heads, P + 1, d)."""

    def __init__(self, decoder: YDecoder) -> None:
        super().__init__()
        self.decoder = decoder

    def forward(self, embedding: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        decoder = self.decoder
        batch = embedding.shape[0]
        prefix = decoder.prefix(embedding).reshape(batch, decoder.num_prefix_tokens, decoder.width)
        bos = decoder.token_embedding(torch.full((batch, 1), BOS_ID, dtype=torch.long))
        total = decoder.num_prefix_tokens + 1
        hidden_states = torch.cat([prefix, bos], dim=1) + decoder.positions[:, :total]
        positions = torch.arange(total)
        attention_mask = (positions[None, :] <= positions[:, None]) | (positions[None, :] < decoder.num_prefix_tokens)
        return _run_blocks(decoder, hidden_states, attention_mask, None, None)


class _Step(torch.nn.Module):
    """last token (B, 1), past keys/values -> logits (B, V), keys and values one position longer."""

    def __init__(self, decoder: YDecoder) -> None:
        super().__init__()
        self.decoder = decoder

    def forward(self, token_ids: torch.Tensor, past_keys: torch.Tensor, past_values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        position = past_keys.shape[3]
        hidden_states = self.decoder.token_embedding(token_ids) + self.decoder.positions[:, position : position + 1]
        return _run_blocks(self.decoder, hidden_states, None, past_keys, past_values)


def _run_blocks(
    decoder: YDecoder, hidden_states: torch.Tensor, attention_mask: torch.Tensor | None, past_keys: torch.Tensor | None, past_values: torch.Tensor | None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    keys, values = [], []
    block: Any  # a TransformerBlock; nn.ModuleList yields its items as Module
    for layer, block in enumerate(decoder.blocks):
        hidden_states, layer_keys, layer_values = block.forward_cached(
            hidden_states, attention_mask, None if past_keys is None else past_keys[layer], None if past_values is None else past_values[layer]
        )
        keys.append(layer_keys)
        values.append(layer_values)
    return decoder.lm_head(decoder.norm(hidden_states[:, -1])), torch.stack(keys), torch.stack(values)


def _session(path: Path) -> onnxruntime.InferenceSession:
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def export_variants(model: VLJepa, folder: Path) -> dict[str, list[Path]]:
    """ONNX files of both variants: no_cache [step], kv_cache [prefill, step]."""
    decoder = model.y_decoder.eval()
    dimension = model.config.embedding_dim
    layers, heads = len(decoder.blocks), model.config.y_decoder.num_heads
    head_width = decoder.width // heads
    embedding = torch.nn.functional.normalize(torch.randn(3, dimension), dim=-1)
    past = torch.randn(layers, 3, heads, decoder.num_prefix_tokens + 2, head_width)
    no_cache = export_onnx(
        decoder, (embedding, torch.full((3, 4), BOS_ID)), ("embedding", "token_ids"), ("next_token_logits",),
        folder / "no_cache.onnx", {"embedding": {0: "batch"}, "token_ids": {0: "batch", 1: "prefix"}},
    )
    prefill = export_onnx(
        _Prefill(decoder), (embedding,), ("embedding",), ("next_token_logits", "keys", "values"), folder / "prefill.onnx", {"embedding": {0: "batch"}}
    )
    step = export_onnx(
        _Step(decoder), (torch.full((3, 1), BOS_ID), past, past.clone()), ("token_ids", "past_keys", "past_values"),
        ("next_token_logits", "keys", "values"), folder / "step.onnx",
        {"token_ids": {0: "batch"}, "past_keys": {1: "batch", 3: "past"}, "past_values": {1: "batch", 3: "past"}},
    )
    return {"no_cache": [no_cache], "kv_cache": [prefill, step]}


Decoder = Callable[[np.ndarray, int], np.ndarray]


def _greedy(first: Callable[[np.ndarray], np.ndarray], following: Callable[[np.ndarray], np.ndarray], batch: int, max_tokens: int) -> np.ndarray:
    """Token ids (B, <= max_tokens + 1) from [BOS]; `first` gives the logits after [BOS], `following`
    the logits after the ids so far."""
    token_ids = np.full((batch, 1), BOS_ID, dtype=np.int64)
    finished = np.zeros(batch, dtype=bool)
    logits = first(token_ids)
    for step in range(max_tokens):
        next_ids = np.where(finished, PAD_ID, logits.argmax(axis=-1))
        token_ids = np.concatenate([token_ids, next_ids[:, None]], axis=1)
        finished |= next_ids == EOS_ID
        if finished.all() or step == max_tokens - 1:
            break
        logits = following(token_ids)
    return token_ids


def no_cache_decoder(files: list[Path]) -> Decoder:
    session = _session(files[0])

    def decode(embeddings: np.ndarray, max_tokens: int) -> np.ndarray:
        def logits(token_ids: np.ndarray) -> np.ndarray:
            return session.run(None, {"embedding": embeddings, "token_ids": token_ids})[0]

        return _greedy(logits, logits, len(embeddings), max_tokens)

    return decode


def kv_cache_decoder(files: list[Path]) -> Decoder:
    prefill, step = (_session(path) for path in files)

    def decode(embeddings: np.ndarray, max_tokens: int) -> np.ndarray:
        cache: dict[str, np.ndarray] = {}

        def first(_: np.ndarray) -> np.ndarray:
            logits, cache["keys"], cache["values"] = prefill.run(None, {"embedding": embeddings})
            return logits

        def following(token_ids: np.ndarray) -> np.ndarray:
            logits, cache["keys"], cache["values"] = step.run(
                None, {"token_ids": token_ids[:, -1:], "past_keys": cache["keys"], "past_values": cache["values"]}
            )
            return logits

        return _greedy(first, following, len(embeddings), max_tokens)

    return decode


def triton_decoder(client: triton_grpc.InferenceServerClient) -> Decoder:
    """The served `text_decoder`, one gRPC call per token."""

    def decode(embeddings: np.ndarray, max_tokens: int) -> np.ndarray:
        def logits(token_ids: np.ndarray) -> np.ndarray:
            inputs = [triton_grpc.InferInput("embedding", list(embeddings.shape), "FP32"), triton_grpc.InferInput("token_ids", list(token_ids.shape), "INT64")]
            inputs[0].set_data_from_numpy(embeddings.astype(np.float32))
            inputs[1].set_data_from_numpy(token_ids)
            return client.infer("text_decoder", inputs).as_numpy("next_token_logits")

        return _greedy(logits, logits, len(embeddings), max_tokens)

    return decode


def measure(model: VLJepa, folder: Path, repeats: int, served: Decoder | None = None) -> dict:
    files = export_variants(model, folder)
    decoders = {"no_cache": no_cache_decoder(files["no_cache"]), "kv_cache": kv_cache_decoder(files["kv_cache"])}
    if served is not None:
        decoders["served_no_cache"] = served
    with torch.no_grad():
        embeddings = model.embed_texts(canonical_captions()).numpy()
    max_tokens = model.config.y_decoder.max_tokens
    largest = max(BATCH_SIZES)
    outputs = {name: [decode(embeddings[start : start + largest], max_tokens) for start in range(0, len(embeddings), largest)] for name, decode in decoders.items()}
    identical = all(
        np.array_equal(reference, other) for output in outputs.values() for reference, other in zip(outputs["no_cache"], output, strict=True)
    )
    timings: dict[str, dict[str, float]] = {}
    for batch in tqdm(BATCH_SIZES, desc="batch sizes"):
        chunks = [embeddings[start : start + batch] for start in range(0, len(embeddings), batch)]
        samples: dict[str, list[float]] = {name: [] for name in decoders}
        for repeat in range(repeats):
            # Alternate the order so neither variant always runs on a warmer machine.
            for name in decoders if repeat % 2 == 0 else reversed(list(decoders)):
                started = time.perf_counter()
                for chunk in chunks:
                    decoders[name](chunk, max_tokens)
                samples[name].append((time.perf_counter() - started) * 1000 / len(embeddings))
        timings[str(batch)] = {f"{name}_ms_per_caption": statistics.median(values) for name, values in samples.items()}
        timings[str(batch)]["kv_cache_speedup"] = timings[str(batch)]["no_cache_ms_per_caption"] / timings[str(batch)]["kv_cache_ms_per_caption"]
    return {
        "captions": len(embeddings),
        "tokens_per_caption": float(np.mean(np.concatenate([(ids[:, 1:] != PAD_ID).sum(axis=1) for ids in outputs["no_cache"]]))),
        "identical_captions": identical,
        "by_batch_size": timings,
        "repeats": repeats,
        "onnxruntime": onnxruntime.__version__,
        "threads": 1,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", type=Path, default=Path("models/vljepa-demo"))
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--repository", type=Path, help="an exported repository whose text_decoder is also timed through Triton")
    parser.add_argument("--results", type=Path, default=DEFAULT_RESULTS)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    model = load_vljepa(args.checkpoint)
    with tempfile.TemporaryDirectory(prefix="decoder-cache-") as scratch:
        if args.repository is None:
            results = measure(model, Path(scratch), args.repeats)
        else:
            options = LocalTritonOptions(repository=args.repository, model_control_mode="explicit", load_models=("text_decoder",))
            with LocalTriton(options) as triton, triton_grpc.InferenceServerClient(triton.grpc_url) as client:
                results = measure(model, Path(scratch), args.repeats, triton_decoder(client))
    results["checkpoint"] = str(args.checkpoint)
    results["command"] = shlex.join(["python", "-m", "benchmarks.decoder_cache", *(sys.argv[1:] if argv is None else argv)])
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    for batch, timing in results["by_batch_size"].items():
        served = f", served {timing['served_no_cache_ms_per_caption']:.3f}" if "served_no_cache_ms_per_caption" in timing else ""
        print(f"batch {batch}: no cache {timing['no_cache_ms_per_caption']:.3f} ms/caption, KV cache {timing['kv_cache_ms_per_caption']:.3f} ({timing['kv_cache_speedup']:.2f}x){served}")
    print(f"identical captions: {results['identical_captions']}; wrote {args.results}")


if __name__ == "__main__":
    main()

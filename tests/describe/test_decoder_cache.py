"""The KV-cache study's decoder: prefill + one-position steps decode exactly what the served
full-prefix step decodes (in ONNX Runtime and through Triton)."""

from __future__ import annotations

from pathlib import Path

import tritonclient.grpc as triton_grpc

from benchmarks.decoder_cache import BATCH_SIZES, measure, triton_decoder
from jepa_export.vljepa.model import load_vljepa


def test_kv_cache_decoding_matches_the_served_decoder_token_for_token(tiny_vljepa_dir: Path, vljepa_triton, tmp_path: Path):
    with triton_grpc.InferenceServerClient(vljepa_triton.grpc_url) as client:
        results = measure(load_vljepa(tiny_vljepa_dir), tmp_path, repeats=1, served=triton_decoder(client))
    assert results["identical_captions"] is True
    assert results["tokens_per_caption"] >= 1
    assert set(results["by_batch_size"]) == {str(size) for size in BATCH_SIZES}
    for timing in results["by_batch_size"].values():
        assert {"no_cache_ms_per_caption", "kv_cache_ms_per_caption", "served_no_cache_ms_per_caption"} <= timing.keys()

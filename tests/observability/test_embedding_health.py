"""Embedding-health gauges: a collapsed model (constant output) shows up as effective rank ~1."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from jepa_export.checkpoints import bundled_minilm_dir
from jepa_export.onnx_export import export_onnx
from jepa_export.repository import ModelSettings, TensorSettings, write_model
from jepa_server.metrics import effective_rank
from support.gateway import GatewayThread
from support.prometheus_text import sample_value


class CollapsedTextEncoder(torch.nn.Module):
    """Ignores its input (up to float noise): every text maps to the same unit vector."""

    input_names = ("input_ids", "attention_mask")
    output_names = ("text_embedding",)

    def __init__(self, dimension: int = 32) -> None:
        super().__init__()
        self.direction = torch.nn.Parameter(torch.randn(dimension))

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        unused = (input_ids.float().sum(dim=1, keepdim=True) + attention_mask.float().sum(dim=1, keepdim=True)) * 0.0
        return F.normalize(self.direction.unsqueeze(0) + unused, dim=-1)


@pytest.fixture(scope="module")
def collapsed_gateway(tmp_path_factory: pytest.TempPathFactory, exported) -> Iterator[GatewayThread]:
    from jepa_server.settings import Settings
    from jepa_server.triton_local import LocalTriton, LocalTritonOptions

    root = tmp_path_factory.mktemp("collapsed")
    module = CollapsedTextEncoder()
    ids = torch.ones(2, 5, dtype=torch.int64)
    onnx_file = export_onnx(module, (ids, ids), module.input_names, module.output_names, root / "onnx" / "model.onnx",
                            {name: {0: "batch", 1: "tokens"} for name in module.input_names})
    repository = root / "repository"
    ragged = dict(data_type="TYPE_INT64", dims=[-1], allow_ragged_batch=True)
    write_model(repository, ModelSettings(
        name="collapsed_text",
        inputs=[TensorSettings(name="input_ids", **ragged), TensorSettings(name="attention_mask", **ragged)],
        outputs=[TensorSettings(name="text_embedding", dims=[32])],
        parameters={"jepa.role": "text_encoder", "jepa.embedding_space": "collapsed", "jepa.max_tokens": "64"},
    ), onnx_file, "cpu", (bundled_minilm_dir() / "tokenizer.json",))
    healthy_dir = exported[0] / "repository" / "cpu" / "text_encoder"
    (repository / "text_encoder").symlink_to(healthy_dir, target_is_directory=True)
    with LocalTriton(LocalTritonOptions(repository=repository)) as triton:
        gateway = GatewayThread(Settings(port=0, metrics_port=0, triton_url=triton.grpc_url, model_repository=repository, decode_workers=1)).start()
        yield gateway
        gateway.stop()


def test_effective_rank_of_a_collapsed_model_falls_to_one_while_a_healthy_model_stays_high(collapsed_gateway):
    from jepa_client import Client

    texts = [f"{colour} {shape} moving {direction}" for colour in ("red", "blue", "green", "yellow")
             for shape in ("circle", "square", "triangle") for direction in ("left", "right", "up", "down")]
    with Client(collapsed_gateway.address) as client:
        for start in range(0, len(texts), 8):
            client.embed_text(texts[start : start + 8], model="collapsed_text")
            client.embed_text(texts[start : start + 8], model="text_encoder")
    metrics = collapsed_gateway.metrics_text()
    collapsed_rank = sample_value(metrics, "jepa_embedding_effective_rank", model="collapsed_text")
    healthy_rank = sample_value(metrics, "jepa_embedding_effective_rank", model="text_encoder")
    assert collapsed_rank == pytest.approx(1.0, abs=0.05)
    assert healthy_rank > 10
    assert sample_value(metrics, "jepa_embedding_pairwise_cosine_mean", model="collapsed_text") == pytest.approx(1.0, abs=1e-3)
    assert sample_value(metrics, "jepa_embedding_norm_mean", model="text_encoder") == pytest.approx(1.0, abs=1e-3)


def test_effective_rank_counts_independent_directions():
    rng = np.random.default_rng(0)
    basis = np.linalg.qr(rng.normal(size=(64, 64)))[0]
    assert effective_rank(np.repeat(basis[:1], 20, axis=0)) == pytest.approx(1.0)
    assert effective_rank(basis[:4]) == pytest.approx(4.0)

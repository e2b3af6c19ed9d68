"""V-JEPA 2.1 checkpoints (facebookresearch/vjepa2, app/vjepa_2_1) load, export and match the
official forward. The reference below is written from upstream's equations, independently of the
loader: patch embedding plus the video modality embedding, blocks whose RoPE interleaves its
angles and rescales row and column positions to the 256 px pre-training grid, and the last
hierarchical norm."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnxruntime
import pytest
import torch
import torch.nn.functional as F

from jepa_export.checkpoints import CheckpointError, load_vjepa2_official
from jepa_export.parity import cosine_rows
from jepa_export.pipeline import run_export
from jepa_export.settings import ExportSettings

# Head size 64, as in every released V-JEPA 2 and 2.1 encoder (heads are read off the width: 128 / 64).
WIDTH, DEPTH, HEADS, PATCH, TUBELET = 128, 2, 2, 16, 2


def official_2_1_encoder(seed: int) -> dict[str, torch.Tensor]:
    """A tiny encoder under upstream 2.1's names, every tensor random (norms near 1)."""
    generator = torch.Generator().manual_seed(seed)

    def random(*shape: int, scale: float = 0.05) -> torch.Tensor:
        return torch.randn(*shape, generator=generator) * scale

    state = {
        "patch_embed.proj.weight": random(WIDTH, 3, TUBELET, PATCH, PATCH),
        "patch_embed.proj.bias": random(WIDTH),
        "patch_embed_img.proj.weight": random(WIDTH, 3, 1, PATCH, PATCH),
        "patch_embed_img.proj.bias": random(WIDTH),
        "video_mod_embed": random(1, 1, WIDTH, scale=0.5),
        "img_mod_embed": random(1, 1, WIDTH, scale=0.5),
    }
    for block in range(DEPTH):
        prefix = f"blocks.{block}."
        for norm in ("norm1", "norm2"):
            state[prefix + f"{norm}.weight"], state[prefix + f"{norm}.bias"] = 1 + random(WIDTH), random(WIDTH)
        state[prefix + "attn.qkv.weight"], state[prefix + "attn.qkv.bias"] = random(3 * WIDTH, WIDTH, scale=0.3), random(3 * WIDTH)
        state[prefix + "attn.proj.weight"], state[prefix + "attn.proj.bias"] = random(WIDTH, WIDTH, scale=0.2), random(WIDTH)
        state[prefix + "mlp.fc1.weight"], state[prefix + "mlp.fc1.bias"] = random(4 * WIDTH, WIDTH, scale=0.2), random(4 * WIDTH)
        state[prefix + "mlp.fc2.weight"], state[prefix + "mlp.fc2.bias"] = random(WIDTH, 4 * WIDTH, scale=0.2), random(WIDTH)
    for norm in range(4):
        state[f"norms_block.{norm}.weight"], state[f"norms_block.{norm}.bias"] = 1 + random(WIDTH), random(WIDTH)
    return state


def _rotate(x: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
    """Upstream 2.1's rotate_queries_or_keys: angles repeat_interleave(2), pairs (-x2, x1)."""
    channels = x.shape[-1]
    omega = 1.0 / 10000 ** (torch.arange(channels // 2, dtype=torch.float32) / (channels / 2.0))
    frequencies = positions[:, None] * omega
    sin, cos = frequencies.sin().repeat_interleave(2, dim=-1), frequencies.cos().repeat_interleave(2, dim=-1)
    pairs = x.unflatten(-1, (-1, 2))
    rotated = torch.stack((-pairs[..., 1], pairs[..., 0]), dim=-1).flatten(-2)
    return x * cos + rotated * sin


def reference_forward(state: dict[str, torch.Tensor], video: torch.Tensor) -> torch.Tensor:
    """video (B, T, 3, H, W) -> token states (B, N, WIDTH), as upstream 2.1 computes them."""
    batch, frames, _, side, _ = video.shape
    grid = side // PATCH
    x = F.conv3d(video.permute(0, 2, 1, 3, 4), state["patch_embed.proj.weight"], state["patch_embed.proj.bias"], stride=(TUBELET, PATCH, PATCH))
    x = x.flatten(2).transpose(1, 2) + state["video_mod_embed"]
    tokens, head_dim = x.shape[1], WIDTH // HEADS
    ids = torch.arange(tokens)
    frame, height = ids // (grid * grid), (ids % (grid * grid)) // grid
    width = ids % grid
    scale = (256 // PATCH - 1) / (grid - 1)  # interpolate_rope: rows and columns on the 16x16 grid
    positions = (frame.float(), height.float() * scale, width.float() * scale)
    slice_dim = 2 * ((head_dim // 3) // 2)
    for block in range(DEPTH):
        p = f"blocks.{block}."
        h = F.layer_norm(x, (WIDTH,), state[p + "norm1.weight"], state[p + "norm1.bias"], eps=1e-6)
        qkv = F.linear(h, state[p + "attn.qkv.weight"], state[p + "attn.qkv.bias"]).unflatten(-1, (3, HEADS, -1)).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        rotated = []
        for tensor in (q, k):
            parts = [_rotate(tensor[..., i * slice_dim : (i + 1) * slice_dim], positions[i]) for i in range(3)]
            rotated.append(torch.cat([*parts, tensor[..., 3 * slice_dim :]], dim=-1))
        attention = F.scaled_dot_product_attention(rotated[0], rotated[1], v).transpose(1, 2).reshape(batch, tokens, WIDTH)
        x = x + F.linear(attention, state[p + "attn.proj.weight"], state[p + "attn.proj.bias"])
        h = F.layer_norm(x, (WIDTH,), state[p + "norm2.weight"], state[p + "norm2.bias"], eps=1e-6)
        x = x + F.linear(F.gelu(F.linear(h, state[p + "mlp.fc1.weight"], state[p + "mlp.fc1.bias"])), state[p + "mlp.fc2.weight"], state[p + "mlp.fc2.bias"])
    return F.layer_norm(x, (WIDTH,), state["norms_block.3.weight"], state["norms_block.3.bias"], eps=1e-6)


@pytest.fixture(scope="module")
def checkpoint_2_1(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, torch.Tensor]]:
    """A 2.1 training checkpoint as upstream saves it: prefixed encoders, a predictor, an ema_encoder."""
    ema = official_2_1_encoder(seed=21)
    checkpoint = {
        "encoder": {f"module.backbone.{key}": value for key, value in official_2_1_encoder(seed=7).items()},
        "ema_encoder": {f"module.backbone.{key}": value for key, value in ema.items()},
        "target_encoder": {f"module.backbone.{key}": value for key, value in official_2_1_encoder(seed=8).items()},
        "predictor": {"module.backbone.predictor_embed.weight": torch.zeros(8, WIDTH)},
        "epoch": 3,
    }
    file = tmp_path_factory.mktemp("vjepa2_1") / "vjepa2_1_tiny.pt"
    torch.save(checkpoint, file)
    return file, ema


def test_a_2_1_checkpoint_loads_at_384_px_and_matches_the_official_forward(checkpoint_2_1):
    file, ema = checkpoint_2_1
    model = load_vjepa2_official(file, "ema_encoder")
    assert (model.config.crop_size, model.config.hidden_size, model.config.num_hidden_layers) == (384, WIDTH, DEPTH)
    video = torch.randn(1, 2, 3, 384, 384, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        ours = model(pixel_values_videos=video, skip_predictor=True).last_hidden_state
        expected = reference_forward(ema, video)
    assert ours.shape == expected.shape == (1, 576, WIDTH)
    torch.testing.assert_close(ours, expected, rtol=1e-4, atol=1e-4)
    # The interpolated, interleaved rotation matters: 2.0's arithmetic on the same weights differs.
    plain = type(model)(model.config).eval()
    plain.load_state_dict(model.state_dict())
    with torch.no_grad():
        assert (plain(pixel_values_videos=video, skip_predictor=True).last_hidden_state - expected).abs().max() > 1e-2


def test_a_2_1_checkpoint_exports_with_parity_through_the_export_command(checkpoint_2_1, tmp_path: Path):
    file, ema = checkpoint_2_1
    config_file = tmp_path / "config.json"
    config_file.write_text(json.dumps({"model_type": "vjepa2", "hidden_size": WIDTH, "num_hidden_layers": DEPTH, "num_attention_heads": HEADS,
                                       "crop_size": 64, "frames_per_clip": 8, "patch_size": PATCH, "tubelet_size": TUBELET}))
    report = run_export(ExportSettings(
        output_dir=tmp_path / "out", vjepa2=file, vjepa2_weights="ema_encoder", vjepa2_config=config_file, export_text_encoder=False,
        targets=["cpu"], tensorrt=False, build_precisions=[], parity_batch_sizes=[1],
    ))
    assert report.passed, report.models[0].artifacts
    session = onnxruntime.InferenceSession(report.models[0].onnx_file)
    video = torch.randn(2, 8, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    (embedding,) = session.run(["clip_embedding"], {"pixel_values_videos": video.numpy()})
    expected = F.normalize(reference_forward(ema, video).mean(dim=1), dim=-1).numpy()
    assert cosine_rows(embedding, expected).min() >= 0.99999
    assert np.abs(embedding - expected).max() < 1e-4


def test_a_2_1_file_with_a_foreign_key_names_it(tmp_path: Path):
    encoder = official_2_1_encoder(seed=1) | {"blocks.0.attn.q_norm.weight": torch.ones(WIDTH // HEADS)}
    file = tmp_path / "foreign.pt"
    torch.save({"target_encoder": encoder}, file)
    with pytest.raises(CheckpointError, match=r"foreign\.pt \(target_encoder\): does not fit a V-JEPA 2\.1 encoder.*unexpected keys \[blocks\.0\.attn\.q_norm\.weight\]"):
        load_vjepa2_official(file)

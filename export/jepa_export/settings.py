"""What an export builds, how every artifact is verified, and how the served models are configured."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import torch
from pydantic import BaseModel, Field, model_validator

from jepa_export import checkpoints
from jepa_export.onnx_export import EXTERNAL_DATA_THRESHOLD_BYTES
from jepa_export.parity import Device, ParityThresholds
from jepa_export.repository import CPU_ONLY_PRECISIONS, PRECISION_ARTIFACTS, Precision, Target

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)



def default_thresholds() -> dict[str, ParityThresholds]:
    """fp32 must match to rounding; fp16 keeps direction and neighbours (a drift of the kind users
    reported, cosine 0.65, fails by far). int8 and bf16 are judged on real inputs only (decoded
    clips, tokenized sentences: random token ids and noise pixels are not what they will see), by
    direction and neighbours; their max |diff| is only a bound against blow-ups (a decoder's logits
    are not unit vectors), and a VL-JEPA checkpoint also passes `QualityGate` end to end."""
    reduced = ParityThresholds(min_cosine=0.999, max_abs_diff=1e-2, min_neighbour_agreement=0.8)
    lowered = ParityThresholds(min_cosine=0.995, max_abs_diff=0.25, min_neighbour_agreement=0.8, real_inputs_only=True)
    return {
        "onnx_fp32": ParityThresholds(min_cosine=0.99999, max_abs_diff=1e-4, min_neighbour_agreement=1.0),
        "onnx_fp16": reduced,
        "tensorrt_fp16": reduced.model_copy(),
        "onnx_int8": lowered,
        "openvino_bf16": lowered.model_copy(),
    }


class QualityGate(BaseModel):
    """What a lower precision may cost a VL-JEPA checkpoint, measured on its demo evaluation
    (held-out gallery, multi-event windows) against the fp32 ONNX models."""

    max_r_at_1_loss: float = 0.01
    max_caption_accuracy_loss: float = 0.02


class Int8Settings(BaseModel):
    """static: NNCF post-training quantization calibrated on the real inputs, run by OpenVINO
    (needs openvino and nncf, else dynamic). dynamic: ONNX Runtime's, int8 weights and
    activations quantized per call (u8, VNNI), attention left fp32."""

    method: Literal["static", "dynamic"] = "static"
    # dynamic only: per-channel weight scales, and the node types whose weight inputs are quantized.
    per_channel: bool = True
    op_types: list[str] = Field(default_factory=lambda: ["MatMul"])


class ExportSettings(BaseModel):
    """What to export, how it is verified and how the served models are configured."""

    output_dir: Path = Path("artifacts")
    # A local Hugging Face V-JEPA 2 folder or an official `.pt`; None skips the video encoder.
    vjepa2: Path | None = None
    # Which encoder of an official `.pt` to serve, and its config.json (geometry, heads).
    vjepa2_weights: checkpoints.OfficialWeights = "target_encoder"
    vjepa2_config: Path | None = None
    # Short side before the centre crop; None = V-JEPA 2's crop * 256/224.
    resize_short_side: int | None = None
    # A VL-JEPA checkpoint folder (jepa_export.vljepa): exports its X-encoder as `vjepa2_encoder`,
    # `vljepa_predictor`, its Y-encoder as `text_encoder`, `text_decoder` and the `vljepa_video` ensemble.
    vljepa: Path | None = None
    # A world model (jepa_export.world): a checkpoint folder (models/world-demo) or an upstream
    # V-JEPA 2-AC `.pt`; exports `world_encoder`, `world_predictor` and (cpu) `world_rollout`.
    world: Path | None = None
    # A local Hugging Face text-encoder folder; None = the bundled all-MiniLM-L6-v2.
    text_encoder: Path | None = None
    export_text_encoder: bool = True
    # Smaller sizes the text encoder was trained to be cut to (Matryoshka, e.g. 512, 256, 128 for
    # EmbeddingGemma): written as `jepa.matryoshka_dimensions`, so `dimensions` may ask for them.
    text_matryoshka_dimensions: list[int] = Field(default_factory=list)
    targets: list[Target] = Field(default_factory=lambda: list[Target](["cpu", "gpu"]))
    # Frame count as a variable axis (a multiple of the tubelet size, up to max_frames_per_clip).
    dynamic_frames: bool = False
    max_frames_per_clip: int = Field(default=64, ge=2)
    # The precision the repositories serve, and per model name where one differs (e.g. a text
    # encoder kept at fp32 while the video encoder serves int8). The served precisions are built.
    precision: Precision = "fp32"
    model_precisions: dict[str, Precision] = Field(default_factory=dict)
    # Further precisions built and verified (and written as unloaded versions).
    build_precisions: list[Precision] = Field(default_factory=lambda: list[Precision](["fp16"]))
    int8: Int8Settings = Field(default_factory=Int8Settings)
    quality_gate: QualityGate = Field(default_factory=QualityGate)
    # Build a TensorRT plan when this machine can (tensorrt + a CUDA GPU); skipped otherwise.
    tensorrt: bool = True
    tensorrt_opt_batch_size: int = Field(default=8, ge=1)
    tensorrt_workspace_bytes: int = 4 << 30
    max_batch_size: int = Field(default=32, ge=1)
    max_queue_delay_microseconds: int = 1000
    instance_count: int = Field(default=1, ge=1)
    # Intra-op threads of each instance's runtime (cpu target); 0 = the runtime's default (all cores).
    intra_op_threads: int = Field(default=0, ge=0)
    # Measure graph recipes, runtimes, instance counts and threads per model on this machine and
    # write the fastest (overrides instance_count and intra_op_threads; see jepa_export.tuning).
    tune: bool = False
    tune_seconds: float = Field(default=2.0, gt=0)
    warmup: bool = True
    thresholds: dict[str, ParityThresholds] = Field(default_factory=default_thresholds)
    # An artifact that misses its thresholds fails the export unless drift is allowed.
    allow_drift: bool = False
    parity_batch_sizes: list[int] = Field(default_factory=lambda: [1, 4])
    # Where PyTorch (the reference) and ONNX Runtime run during verification.
    device: Device = "cpu"
    # > 0: time PyTorch and each artifact on the largest parity batch (median of this many runs).
    timing_runs: int = Field(default=0, ge=0)
    external_data_threshold_bytes: int = EXTERNAL_DATA_THRESHOLD_BYTES
    seed: int = 0

    def served_precision(self, model: str) -> Precision:
        return self.model_precisions.get(model, self.precision)

    def precisions_built(self, model: str) -> list[Precision]:
        """fp32 always (the reference every other precision is compared with), then the rest."""
        return list(dict.fromkeys(["fp32", *self.build_precisions, self.served_precision(model)]))

    @model_validator(mode="after")
    def _consistent(self) -> ExportSettings:
        if self.device == "cuda" and not torch.cuda.is_available():
            raise ValueError("device: cuda asked for, but torch sees no CUDA GPU (a CPU build of torch?)")
        missing = set(PRECISION_ARTIFACTS.values()) - set(self.thresholds)
        if missing:
            raise ValueError(f"thresholds: no entry for {sorted(missing)}")
        served = {self.precision, *self.model_precisions.values()}
        if served & CPU_ONLY_PRECISIONS and set(self.targets) != {"cpu"}:
            raise ValueError(f"precision: {sorted(served & CPU_ONLY_PRECISIONS)} is served by the cpu target only; add --target cpu")
        return self


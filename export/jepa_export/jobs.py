"""Export jobs: one served model each — its torch module, the inputs it is verified on, and how
Triton serves it. The orchestration that runs them is `jepa_export.pipeline`."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from pydantic import BaseModel, Field

from jepa_export import checkpoints, tensorrt_plan
from jepa_export.clips import decode_clips, write_synthetic_video
from jepa_export.modules import TextEncoderForExport, video_encoder_for_export
from jepa_export.onnx_export import (
    DYNAMO,
    DYNAMO_ATTENTION,
    DYNAMO_ROPE_ATTENTION,
    TORCHSCRIPT,
    TORCHSCRIPT_FUSED_BERT,
    TORCHSCRIPT_FUSED_VIT,
    DynamicShapes,
    GraphRecipe,
)
from jepa_export.repository import DynamicBatchingSettings, ModelSettings, TensorSettings, WarmupInput, WarmupSettings
from jepa_export.settings import IMAGENET_MEAN, IMAGENET_STD, ExportSettings

# Verification inputs for text models: varied lengths and topics, so neighbours are meaningful.
VERIFICATION_SENTENCES = (
    "a dog catching a frisbee in the park",
    "a puppy jumps to grab a flying disc",
    "a cat asleep on a sunny windowsill",
    "heavy rain falling on a city street at night",
    "a chef slicing vegetables in a busy kitchen",
    "two people playing chess",
    "a red car drives along a coastal road under a clear sky while seagulls circle overhead",
    "stock markets fell sharply today",
)
# Graph recipes in the order tried: the first is the default (measured fastest on our CPU machine,
# benchmarks/RESULTS.md), the rest are measured against it with `--tune`.
VIDEO_RECIPES = (DYNAMO_ROPE_ATTENTION, DYNAMO, DYNAMO_ATTENTION, TORCHSCRIPT_FUSED_VIT)
TEXT_RECIPES = (TORCHSCRIPT_FUSED_BERT, TORCHSCRIPT, DYNAMO)


def weights_fingerprint(*modules: torch.nn.Module | None) -> str:
    """Short hash of the weights: names an embedding space so different weights never share one."""
    digest = hashlib.sha256()
    for module in filter(None, modules):
        for name, tensor in sorted(module.state_dict().items()):
            digest.update(name.encode())
            digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:12]


class ExportJob(BaseModel, arbitrary_types_allowed=True):
    """One model to export: the module, its inputs and how Triton serves it."""

    settings: ModelSettings
    module: torch.nn.Module
    make_inputs: Callable[[int], tuple[torch.Tensor, ...]]
    # Inputs like the served ones (a decoded clip, tokenized sentences): every precision is judged on them.
    real_inputs: dict[str, tuple[torch.Tensor, ...]]
    # Other shapes worth checking (another frame count), random like `make_inputs`.
    extra_inputs: dict[str, tuple[torch.Tensor, ...]] = Field(default_factory=dict)
    dynamic_shapes: DynamicShapes
    tensorrt_profile: tensorrt_plan.ShapeProfile
    source: str
    extra_files: tuple[Path, ...] = ()
    graph_recipes: tuple[GraphRecipe, ...] = (DYNAMO,)
    # Most visual tokens one input can hold: the size of rotary tables (`GraphRecipe.rope_tables`).
    max_visual_tokens: int = 0


def model_settings(settings: ExportSettings, **fields) -> ModelSettings:
    if not settings.warmup:
        fields["warmup"] = []
    return ModelSettings(
        max_batch_size=settings.max_batch_size,
        dynamic_batching=DynamicBatchingSettings(max_queue_delay_microseconds=settings.max_queue_delay_microseconds),
        instance_count=settings.instance_count,
        **fields,
    )


def video_parameters(frames_per_clip: int, crop_size: int, resize_short_side: int, tubelet_size: int, image_mean: Sequence[float], image_std: Sequence[float]) -> dict[str, str]:
    """The `jepa.*` parameters every video model carries (docs/repository-format.md)."""
    return {
        "jepa.frames_per_clip": str(frames_per_clip),
        "jepa.crop_size": str(crop_size),
        "jepa.resize_short_side": str(resize_short_side),
        "jepa.tubelet_size": str(tubelet_size),
        "jepa.image_mean": ",".join(map(str, image_mean)),
        "jepa.image_std": ",".join(map(str, image_std)),
    }


def verification_clip(settings: ExportSettings, geometry: checkpoints.VideoGeometry, frames_per_clip: int) -> np.ndarray:
    """The windows of a synthetic H.264 clip, decoded and preprocessed as the gateway does: (W, T, 3, S, S)."""
    clip_file = settings.output_dir / "verification" / "clip.mp4"
    if not clip_file.is_file():
        write_synthetic_video(clip_file, scenes=4, frames_per_scene=frames_per_clip)
    return decode_clips(clip_file, geometry, frames_per_clip, IMAGENET_MEAN, IMAGENET_STD)


def video_encoder_job(settings: ExportSettings) -> ExportJob:
    if settings.vjepa2 is None:
        raise checkpoints.CheckpointError("vjepa2: no checkpoint given; the video encoder job needs one")
    vjepa2 = checkpoints.load_vjepa2(settings.vjepa2, settings.vjepa2_weights, settings.vjepa2_config)
    geometry = checkpoints.video_geometry(vjepa2).model_copy(update={"short_side_override": settings.resize_short_side})
    module = video_encoder_for_export(vjepa2)
    side, frames, tubelet = geometry.crop_size, geometry.frames_per_clip, geometry.tubelet_size
    batch = torch.export.Dim("batch", min=1, max=4096)
    frame_dims, token_dims = [frames, 3, side, side], [geometry.visual_tokens(frames), geometry.hidden_size]
    dynamic_shapes: DynamicShapes = {"pixel_values_videos": {0: batch}}
    frame_range = (frames, frames, frames)
    extra_inputs: dict[str, tuple[torch.Tensor, ...]] = {}
    if settings.dynamic_frames:
        if frames > settings.max_frames_per_clip or settings.max_frames_per_clip % tubelet:
            raise checkpoints.CheckpointError(
                f"max_frames_per_clip: got {settings.max_frames_per_clip}, need a multiple of the tubelet size {tubelet} "
                f"of at least frames_per_clip {frames}"
            )
        tubelets = torch.export.Dim("tubelets", min=1, max=settings.max_frames_per_clip // tubelet)
        dynamic_shapes["pixel_values_videos"][1] = tubelet * tubelets
        frame_dims[0], token_dims[0] = -1, -1
        frame_range = (tubelet, frames, settings.max_frames_per_clip)
        other_frames = max(tubelet, frames // 2 // tubelet * tubelet)
        extra_inputs[f"random T={other_frames}"] = (torch.randn(2, other_frames, 3, side, side),)
    model = model_settings(
        settings,
        name="vjepa2_encoder",
        inputs=[TensorSettings(name="pixel_values_videos", dims=frame_dims)],
        outputs=[
            TensorSettings(name="clip_embedding", dims=[geometry.hidden_size]),
            TensorSettings(name="visual_tokens", dims=token_dims),
        ],
        warmup=[WarmupSettings(name="zeros", inputs=[WarmupInput(name="pixel_values_videos", dims=[frames, 3, side, side])])],
        parameters={
            "jepa.role": "video_encoder",
            "jepa.embedding_space": f"vjepa2-{weights_fingerprint(vjepa2)}",
            **video_parameters(frames, side, geometry.resize_short_side, tubelet, IMAGENET_MEAN, IMAGENET_STD),
        },
    )
    return ExportJob(
        settings=model,
        module=module,
        make_inputs=lambda batch_size: (torch.randn(batch_size, frames, 3, side, side),),
        real_inputs={"decoded clip": (torch.from_numpy(verification_clip(settings, geometry, frames)),)},
        extra_inputs=extra_inputs,
        dynamic_shapes=dynamic_shapes,
        tensorrt_profile={
            "pixel_values_videos": tensorrt_plan.profile_shapes(
                (batch_size, frame_count, 3, side, side)
                for batch_size, frame_count in zip((1, settings.tensorrt_opt_batch_size, settings.max_batch_size), frame_range)
            )
        },
        source=f"{settings.vjepa2}" + (f" ({settings.vjepa2_weights})" if Path(settings.vjepa2).is_file() else ""),
        graph_recipes=VIDEO_RECIPES,
        max_visual_tokens=geometry.visual_tokens(frame_range[2]),
    )


def tokenized_sentences(tokenizer_file: Path, max_tokens: int, sentences: Sequence[str] = VERIFICATION_SENTENCES) -> tuple[torch.Tensor, torch.Tensor]:
    """Sentences tokenized by the served `tokenizer.json`, padded to the longest (as the gateway does)."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(tokenizer_file))
    tokenizer.enable_truncation(max_tokens)
    tokenizer.enable_padding(pad_id=tokenizer.token_to_id("[PAD]") or 0)
    encodings = tokenizer.encode_batch(list(sentences))
    input_ids = torch.tensor([encoding.ids for encoding in encodings], dtype=torch.int64)
    attention_mask = torch.tensor([encoding.attention_mask for encoding in encodings], dtype=torch.int64)
    return input_ids, attention_mask


def _matryoshka(sizes: Sequence[int], embedding_size: int) -> dict[str, str]:
    if any(not 0 < size < embedding_size for size in sizes):
        raise ValueError(f"text_matryoshka_dimensions: {list(sizes)}; each must be between 1 and {embedding_size - 1}")
    return {"jepa.matryoshka_dimensions": ",".join(map(str, sorted(set(sizes), reverse=True)))} if sizes else {}


def text_encoder_job(
    settings: ExportSettings,
    module: torch.nn.Module,
    tokenizer_file: Path,
    max_tokens: int,
    vocab_size: int,
    embedding_space: str,
    source: str,
    sentences: Sequence[str] = VERIFICATION_SENTENCES,
) -> ExportJob:
    """Any text encoder `(input_ids, attention_mask) -> text_embedding`: the bundled MiniLM, a local
    folder, or a VL-JEPA Y-encoder."""
    with torch.no_grad():
        embedding_size = module(torch.ones(1, 2, dtype=torch.int64), torch.ones(1, 2, dtype=torch.int64)).shape[-1]

    def make_inputs(batch: int) -> tuple[torch.Tensor, torch.Tensor]:
        generator = torch.Generator().manual_seed(batch)
        input_ids = torch.randint(min(1000, vocab_size // 2), vocab_size, (batch, 12), generator=generator)
        attention_mask = torch.ones_like(input_ids)
        attention_mask[1:, 7:] = 0  # rows of different lengths, as in a real padded batch
        return input_ids, attention_mask

    ragged = dict(data_type="TYPE_INT64", dims=[-1], allow_ragged_batch=True)
    warmup_tokens = min(16, max_tokens)
    batch, tokens = torch.export.Dim("batch", min=1, max=4096), torch.export.Dim("tokens", min=1, max=max_tokens)
    model = model_settings(
        settings,
        name="text_encoder",
        inputs=[TensorSettings.model_validate({"name": "input_ids", **ragged}), TensorSettings.model_validate({"name": "attention_mask", **ragged})],
        outputs=[TensorSettings(name="text_embedding", dims=[embedding_size])],
        # Token id 0 exists in every vocabulary; a mask of ones makes it a real forward pass.
        warmup=[
            WarmupSettings(
                name="zeros_ids_ones_mask",
                inputs=[
                    WarmupInput(name="input_ids", data_type="TYPE_INT64", dims=[warmup_tokens]),
                    WarmupInput(name="attention_mask", data_type="TYPE_INT64", dims=[warmup_tokens], fill="ones"),
                ],
            )
        ],
        parameters={
            "jepa.role": "text_encoder", "jepa.embedding_space": embedding_space, "jepa.max_tokens": str(max_tokens),
            **_matryoshka(settings.text_matryoshka_dimensions, embedding_size),
        },
    )
    opt_tokens = min(64, max_tokens)
    token_profile = ((1, 1), (settings.tensorrt_opt_batch_size, opt_tokens), (settings.max_batch_size, max_tokens))
    input_names = ("input_ids", "attention_mask")
    return ExportJob(
        settings=model,
        module=module,
        make_inputs=make_inputs,
        real_inputs={"sentences": tokenized_sentences(tokenizer_file, max_tokens, sentences)},
        dynamic_shapes={name: {0: batch, 1: tokens} for name in input_names},
        tensorrt_profile={name: token_profile for name in input_names},
        source=source,
        extra_files=(tokenizer_file,),
        graph_recipes=TEXT_RECIPES,
    )


def bundled_text_encoder_job(settings: ExportSettings) -> ExportJob:
    """The standalone text encoder: a local folder, or the bundled all-MiniLM-L6-v2."""
    text = checkpoints.load_text_encoder(settings.text_encoder)
    module = TextEncoderForExport(text.model, text.pooling, text.projection)
    config: Any = text.model.config  # a transformers config; torch types module attributes as Tensor | Module
    return text_encoder_job(
        settings,
        module,
        text.tokenizer_file,
        text.max_tokens,
        config.vocab_size,
        f"text-{weights_fingerprint(text.model, text.projection)}",
        str(settings.text_encoder or checkpoints.bundled_minilm_dir()),
    )


JobFactory = Callable[[ExportSettings], ExportJob]

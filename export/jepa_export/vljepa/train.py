"""Trains the VL-JEPA demo checkpoint on synthetic captioned clips.

Recipes (the issue asks to measure both):
- `pretrain_freeze_align` (the paper's): V-JEPA-style pre-training of the X-encoder, freeze it,
  then align predictor + Y projection with InfoNCE.
- `end_to_end`: X-encoder, predictor and Y projection trained together with InfoNCE from scratch.
Both then train the Y-decoder on the frozen model's video embeddings.

    python -m jepa_export.vljepa.train --seed 0 --out models/vljepa-demo
"""

from __future__ import annotations

import argparse
import json
import math
import shlex
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal, get_args

import numpy as np
import torch
import torch.nn.functional as F
from pydantic import BaseModel, Field
from tqdm import tqdm

from jepa_export.demo import (
    ALL_CLASSES,
    TRAINING_TEMPLATES,
    ClipBatch,
    RenderSettings,
    canonical_captions,
    caption_vocabulary,
)
from jepa_export.demo.render import generate_clips
from jepa_export.vljepa.config import PAD_ID, BOS_ID, VLJepaConfig, YDecoderConfig, YEncoderConfig
from jepa_export.vljepa.evaluate import TorchBackend, attribute_accuracy, demo_gallery, evaluate_backend, event_window_metrics
from jepa_export.vljepa.loss import class_aware_info_nce
from jepa_export.vljepa.model import VLJepa, decoder_vocabulary, normalise_pixels, save_vljepa
from jepa_export.vljepa.pretrain import EncoderPretraining

Recipe = Literal["end_to_end", "pretrain_freeze_align"]
TRAIN_LOG = "train_log.json"
_STEP_STREAM = 100_000  # data seed of step s under training seed S: S * _STEP_STREAM + s


class TrainSettings(BaseModel):
    seed: int = 0
    recipe: Recipe = "end_to_end"
    threads: int = Field(default=1, ge=1)
    batch_size: int = Field(default=64, ge=2)
    pretrain_steps: int = Field(default=150, ge=0, description="pretrain_freeze_align only")
    pretrain_learning_rate: float = 1e-3
    mask_ratio: float = 0.5
    ema_momentum: tuple[float, float] = (0.99, 1.0)
    align_steps: int = Field(default=1200, ge=1)
    align_learning_rate: float = 1e-3
    warmup_steps: int = 30
    weight_decay: float = 0.05
    initial_temperature: float = 0.05
    projection_lr_multiplier: float = Field(
        default=0.05, description="Y projection learns slowly (the paper's Y-encoder multiplier), so text targets cannot collapse"
    )
    decoder_clips: int = Field(default=2048, ge=1)
    decoder_steps: int = Field(default=400, ge=1)
    decoder_batch_size: int = 128
    decoder_learning_rate: float = 2e-3
    decoder_noise_std: float = Field(default=0.02, description="per-dimension noise on embeddings, for robustness")
    training_templates: int = Field(
        default=1, ge=1, le=len(TRAINING_TEMPLATES), description="the first N caption templates (1 = canonical only)"
    )
    wrap_fraction: float = Field(
        default=0.5, ge=0, le=1, description="share of training clips whose shape wraps around the frame edges (as in long events)"
    )
    eval_every: int = Field(default=100, ge=0, description="held-out accuracy every N align steps (0 = never)")


def default_config(y_encoder: YEncoderConfig = YEncoderConfig()) -> VLJepaConfig:
    return VLJepaConfig(
        y_encoder=y_encoder,
        y_decoder=YDecoderConfig(vocabulary=decoder_vocabulary(caption_vocabulary())),
    )


def render_settings(config: VLJepaConfig) -> RenderSettings:
    return RenderSettings(frames_per_clip=config.preprocessing.frames_per_clip, frame_size=config.preprocessing.crop_size)


def training_batches(config: VLJepaConfig, settings: TrainSettings, steps: int, stream: int) -> Iterator[ClipBatch]:
    """Fresh clips every step: training never sees a clip twice, nor a held-out one."""
    for step in range(steps):
        seed = (settings.seed * 4 + stream) * _STEP_STREAM + step
        yield generate_clips("train", seed, settings.batch_size, render_settings(config), settings.wrap_fraction)


def warmup_cosine(optimizer: torch.optim.Optimizer, warmup_steps: int, total_steps: int) -> torch.optim.lr_scheduler.LambdaLR:
    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        return 0.5 * (1 + math.cos(math.pi * (step - warmup_steps) / max(total_steps - warmup_steps, 1)))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def pretrain_x_encoder(model: VLJepa, settings: TrainSettings) -> list[float]:
    pretraining = EncoderPretraining(model.x_encoder, settings.mask_ratio, settings.ema_momentum, settings.pretrain_steps)
    model.x_encoder.requires_grad_(True)
    parameters = list(model.x_encoder.parameters())
    optimizer = torch.optim.AdamW(parameters, lr=settings.pretrain_learning_rate, weight_decay=settings.weight_decay)
    scheduler = warmup_cosine(optimizer, settings.warmup_steps, settings.pretrain_steps)
    generator = torch.Generator().manual_seed(settings.seed)
    losses = []
    batches = training_batches(model.config, settings, settings.pretrain_steps, stream=1)
    progress = tqdm(batches, total=settings.pretrain_steps, desc="pretrain X-encoder", mininterval=5)
    for step, batch in enumerate(progress):
        loss = pretraining.loss(normalise_pixels(batch.frames, model.config.preprocessing), generator)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
        pretraining.update_target(step + 1)
        losses.append(loss.item())
        progress.set_postfix(loss=f"{loss.item():.4f}", refresh=False)
    model.x_encoder.requires_grad_(False)
    return losses


class CaptionBank:
    """Every training caption (class x training template) and its class; base embeddings cached when frozen."""

    def __init__(self, model: VLJepa, templates: int) -> None:
        self.templates = templates
        self.texts = [attributes.caption(template) for attributes in ALL_CLASSES for template in TRAINING_TEMPLATES[:templates]]
        self.classes = torch.arange(len(ALL_CLASSES)).repeat_interleave(templates)
        self.model = model
        self.frozen_base = model.config.y_encoder.base_lr_multiplier == 0
        if self.frozen_base:
            with torch.no_grad():
                self.base_embeddings = model.y_encoder.base_embedding(**model.tokenize(self.texts))

    def embed(self, text_ids: torch.Tensor) -> torch.Tensor:
        if self.frozen_base:
            return self.model.y_encoder.project(self.base_embeddings[text_ids])
        return self.model.y_encoder(**self.model.tokenize([self.texts[index] for index in text_ids.tolist()]))


@torch.no_grad()
def quick_heldout_accuracy(model: VLJepa, clips_per_class: int = 2) -> dict[str, float]:
    """Zero-shot classification on a small held-out gallery, overall and per attribute (learning curve)."""
    model.eval()
    gallery = demo_gallery(model.config.preprocessing, clips_per_class)
    video_embeddings = model.embed_videos(normalise_pixels(gallery.frames, model.config.preprocessing)).numpy()
    predicted = np.argmax(video_embeddings @ model.embed_texts(canonical_captions()).numpy().T, axis=1)
    accuracy = float((predicted == gallery.class_indices).mean())
    return {"accuracy": accuracy, **attribute_accuracy(predicted, gallery.class_indices)}


def align(model: VLJepa, settings: TrainSettings, train_x_encoder: bool, curve: list[dict]) -> list[float]:
    """InfoNCE between predicted video embeddings and projected caption embeddings; appends to `curve`."""
    bank = CaptionBank(model, settings.training_templates)
    model.x_encoder.requires_grad_(train_x_encoder)
    model.predictor.requires_grad_(True)
    model.y_encoder.projection.requires_grad_(True)
    model.y_encoder.base.requires_grad_(not bank.frozen_base)
    log_scale = torch.nn.Parameter(torch.tensor(math.log(1 / settings.initial_temperature)))
    groups: list[dict[str, Any]] = [
        {"params": [*model.predictor.parameters(), log_scale]},
        {
            "params": list(model.y_encoder.projection.parameters()),
            "lr": settings.align_learning_rate * settings.projection_lr_multiplier,
        },
    ]
    if train_x_encoder:
        groups.append({"params": list(model.x_encoder.parameters())})
    if not bank.frozen_base:
        multiplier = model.config.y_encoder.base_lr_multiplier
        groups.append({"params": list(model.y_encoder.base.parameters()), "lr": settings.align_learning_rate * multiplier})
    optimizer = torch.optim.AdamW(groups, lr=settings.align_learning_rate, weight_decay=settings.weight_decay)
    scheduler = warmup_cosine(optimizer, settings.warmup_steps, settings.align_steps)
    generator = torch.Generator().manual_seed(settings.seed)
    losses = []
    batches = training_batches(model.config, settings, settings.align_steps, stream=2)
    progress = tqdm(batches, total=settings.align_steps, desc=f"align ({'end to end' if train_x_encoder else 'frozen X'})", mininterval=5)
    for step, batch in enumerate(progress):
        pixels = normalise_pixels(batch.frames, model.config.preprocessing)
        if train_x_encoder:
            visual_tokens = model.x_encoder(pixels)
        else:
            with torch.no_grad():
                visual_tokens = model.x_encoder(pixels)
        video_embeddings = model.predictor(visual_tokens)
        video_classes = torch.from_numpy(batch.class_indices)
        templates = torch.randint(bank.templates, (len(video_classes),), generator=generator)
        text_ids = torch.unique(video_classes * bank.templates + templates)
        text_embeddings = bank.embed(text_ids)
        scale = log_scale.clamp(max=math.log(100.0)).exp()
        loss = class_aware_info_nce(video_embeddings, text_embeddings, video_classes, bank.classes[text_ids], scale)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
        losses.append(loss.item())
        progress.set_postfix(loss=f"{loss.item():.3f}", temperature=f"{1 / scale.item():.3f}", refresh=False)
        if settings.eval_every and (step + 1) % settings.eval_every == 0:
            curve.append({"step": step + 1, **quick_heldout_accuracy(model)})
            progress.write(json.dumps(curve[-1]))
            model.train()
    model.requires_grad_(False)
    return losses


@torch.no_grad()
def decoder_examples(model: VLJepa, settings: TrainSettings) -> tuple[torch.Tensor, torch.Tensor]:
    """(embeddings (M, D), canonical caption ids (M,)): predicted video embeddings plus caption embeddings."""
    model.eval()
    embeddings, classes = [], []
    steps = math.ceil(settings.decoder_clips / settings.batch_size)
    for batch in tqdm(training_batches(model.config, settings, steps, stream=3), total=steps, desc="decoder inputs", mininterval=5):
        embeddings.append(model.embed_videos(normalise_pixels(batch.frames, model.config.preprocessing)))
        classes.append(torch.from_numpy(batch.class_indices))
    bank = CaptionBank(model, settings.training_templates)
    embeddings.append(model.embed_texts(bank.texts))
    classes.append(bank.classes)
    return torch.cat(embeddings), torch.cat(classes)


def train_decoder(model: VLJepa, settings: TrainSettings) -> list[float]:
    embeddings, classes = decoder_examples(model, settings)
    max_tokens = model.config.y_decoder.max_tokens
    targets = torch.full((len(ALL_CLASSES), max_tokens), PAD_ID, dtype=torch.long)
    for index, attributes in enumerate(ALL_CLASSES):
        token_ids = model.caption_token_ids(attributes.caption())
        targets[index, : len(token_ids)] = torch.tensor(token_ids)
    inputs = torch.cat([torch.full((len(ALL_CLASSES), 1), BOS_ID), targets[:, :-1]], dim=1)
    decoder = model.y_decoder.train().requires_grad_(True)
    optimizer = torch.optim.AdamW(decoder.parameters(), lr=settings.decoder_learning_rate, weight_decay=settings.weight_decay)
    scheduler = warmup_cosine(optimizer, settings.warmup_steps, settings.decoder_steps)
    generator = torch.Generator().manual_seed(settings.seed)
    losses = []
    progress = tqdm(range(settings.decoder_steps), desc="train Y-decoder", mininterval=5)
    for _ in progress:
        picks = torch.randint(len(embeddings), (settings.decoder_batch_size,), generator=generator)
        noise = torch.randn(settings.decoder_batch_size, embeddings.shape[1], generator=generator)
        conditioned = F.normalize(embeddings[picks] + settings.decoder_noise_std * noise, dim=-1)
        logits = decoder.sequence_logits(conditioned, inputs[classes[picks]])
        loss = F.cross_entropy(logits.flatten(0, 1), targets[classes[picks]].flatten(), ignore_index=PAD_ID)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
        losses.append(loss.item())
        progress.set_postfix(loss=f"{loss.item():.4f}", refresh=False)
    decoder.requires_grad_(False)
    return losses


def train(config: VLJepaConfig, settings: TrainSettings) -> tuple[VLJepa, dict]:
    """Runs the recipe; returns the trained model (eval mode) and a log of losses and seconds per stage."""
    torch.set_num_threads(settings.threads)
    torch.manual_seed(settings.seed)
    np.random.seed(settings.seed)
    model = VLJepa(config)
    model.requires_grad_(False)
    log: dict = {"settings": settings.model_dump(), "seconds": {}}
    started = time.perf_counter()
    if settings.recipe == "pretrain_freeze_align":
        log["pretrain_loss"] = pretrain_x_encoder(model.train(), settings)
        log["seconds"]["pretrain"] = round(time.perf_counter() - started, 1)
    stage_start = time.perf_counter()
    log["align_curve"] = []
    log["align_loss"] = align(model.train(), settings, settings.recipe == "end_to_end", log["align_curve"])
    log["seconds"]["align"] = round(time.perf_counter() - stage_start, 1)
    stage_start = time.perf_counter()
    log["decoder_loss"] = train_decoder(model, settings)
    log["seconds"]["decoder"] = round(time.perf_counter() - stage_start, 1)
    log["seconds"]["total"] = round(time.perf_counter() - started, 1)
    log["seconds"]["cpu_total"] = round(time.process_time(), 1)
    model.eval()
    model.config = config.model_copy(update={"training": {"recipe": settings.recipe, "seed": settings.seed}})
    return model, log


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    for name, field in TrainSettings.model_fields.items():
        if name != "seed" and field.annotation in (int, float, str, Recipe):
            parser.add_argument(f"--{name.replace('_', '-')}", type=type(field.default), default=field.default,
                                choices=list(get_args(Recipe)) if field.annotation is Recipe else None)
    args = parser.parse_args(argv)
    settings = TrainSettings(**{name: getattr(args, name) for name in TrainSettings.model_fields if hasattr(args, name)})
    model, log = train(default_config(), settings)
    save_vljepa(model, args.out)
    backend = TorchBackend(model)
    metrics = evaluate_backend(backend, demo_gallery(model.config.preprocessing), model.config.preprocessing)
    metrics |= event_window_metrics(backend, model.config.preprocessing)
    log["heldout"] = metrics
    log["command"] = "python -m jepa_export.vljepa.train " + shlex.join(sys.argv[1:] if argv is None else argv)
    (args.out / TRAIN_LOG).write_text(json.dumps(log) + "\n")
    print(json.dumps({"seconds": log["seconds"], **{key: metrics[key] for key in ("template_r_at_1", "paraphrase_r_at_1", "classification_accuracy", "event_window_caption_accuracy")}}))


if __name__ == "__main__":
    main()

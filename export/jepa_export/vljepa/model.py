"""The assembled VL-JEPA model, its checkpoint folder format, and `load_vljepa`."""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from jepa_media import normalise
from pydantic import ValidationError
from safetensors.torch import load_file, save_file
from torch import nn
from transformers import AutoModel, AutoTokenizer, PreTrainedTokenizerBase

from jepa_export.vljepa.config import (
    BOS_ID,
    CHECKPOINT_FORMAT,
    CONFIG_FILE,
    EOS_ID,
    PAD_ID,
    SPECIAL_TOKENS,
    WEIGHTS_FILE,
    Preprocessing,
    VLJepaConfig,
)
from jepa_export.vljepa.parts import Predictor, XEncoder, YDecoder, YEncoder, num_visual_tokens


class CheckpointError(ValueError):
    """A folder that is not a loadable VL-JEPA checkpoint."""


def resolve_text_encoder_dir(source: str) -> Path:
    """'package:NAME' -> NAME.get_model_path(); anything else is a local Hugging Face directory."""
    if source.startswith("package:"):
        package = importlib.import_module(source.removeprefix("package:"))
        return Path(package.get_model_path())
    return Path(source)


def normalise_pixels(frames: np.ndarray, preprocessing: Preprocessing) -> torch.Tensor:
    """uint8 (B, T, H, W, 3) frames at crop size -> float (B, T, 3, H, W), (x/255 - mean) / std."""
    expected = (preprocessing.frames_per_clip, preprocessing.crop_size, preprocessing.crop_size, 3)
    if frames.ndim != 5 or frames.shape[1:] != expected:
        raise ValueError(f"frames: got shape {frames.shape}, need (B, {', '.join(map(str, expected))})")
    return torch.from_numpy(normalise(frames, preprocessing.image_mean, preprocessing.image_std))


class VLJepa(nn.Module):
    """X-encoder -> predictor (video side) and Y-encoder (text side) into one space, plus the Y-decoder."""

    def __init__(self, config: VLJepaConfig) -> None:
        super().__init__()
        self.config = config
        self.x_encoder = XEncoder(config.x_encoder, config.preprocessing)
        vjepa2 = self.x_encoder.vjepa2.config
        self.predictor = Predictor(
            config.predictor, vjepa2.hidden_size, num_visual_tokens(vjepa2), config.embedding_dim
        )
        text_dir = resolve_text_encoder_dir(config.y_encoder.source)
        self.tokenizer: PreTrainedTokenizerBase = AutoTokenizer.from_pretrained(text_dir, local_files_only=True)
        base = AutoModel.from_pretrained(text_dir, local_files_only=True)
        self.y_encoder = YEncoder(config.y_encoder, base, config.embedding_dim)
        self.y_decoder = YDecoder(config.y_decoder, config.embedding_dim)
        self.word_ids = {word: index for index, word in enumerate(config.y_decoder.vocabulary)}

    def tokenize(self, texts: list[str]) -> dict[str, torch.Tensor]:
        encoded = self.tokenizer(
            texts,
            padding=True,
            truncation=True,
            max_length=self.config.y_encoder.max_tokens,
            return_tensors="pt",
        )
        return {"input_ids": encoded["input_ids"], "attention_mask": encoded["attention_mask"]}

    @torch.no_grad()
    def embed_videos(self, pixel_values_videos: torch.Tensor) -> torch.Tensor:
        return self.predictor(self.x_encoder(pixel_values_videos))

    @torch.no_grad()
    def embed_texts(self, texts: list[str]) -> torch.Tensor:
        return self.y_encoder(**self.tokenize(texts))

    def caption_token_ids(self, caption: str) -> list[int]:
        """Word ids of a caption followed by [EOS]; unknown words are an error (closed vocabulary)."""
        try:
            return [self.word_ids[word] for word in caption.split()] + [EOS_ID]
        except KeyError as unknown:
            raise ValueError(f"caption: word {unknown} is not in the decoder vocabulary") from None

    @torch.no_grad()
    def caption(self, embeddings: torch.Tensor, max_tokens: int | None = None) -> list[str]:
        """Greedy decoding of one caption per embedding (B, D)."""
        limit = min(max_tokens or self.config.y_decoder.max_tokens, self.config.y_decoder.max_tokens)
        return greedy_captions(self.y_decoder, embeddings, self.config.y_decoder.vocabulary, limit)


def greedy_captions(
    next_token_logits: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], embeddings: torch.Tensor, vocabulary: list[str], max_tokens: int
) -> list[str]:
    """Greedy decoding with any decoder step (embedding (B, D), prefix (B, L)) -> logits (B, V):
    the PyTorch Y-decoder or an exported artifact, one loop for both."""
    token_ids = torch.full((embeddings.shape[0], 1), BOS_ID, dtype=torch.long)
    finished = torch.zeros(embeddings.shape[0], dtype=torch.bool)
    for _ in range(max_tokens):
        next_ids = next_token_logits(embeddings, token_ids).argmax(dim=-1)
        next_ids = torch.where(finished, torch.full_like(next_ids, PAD_ID), next_ids)
        token_ids = torch.cat([token_ids, next_ids[:, None]], dim=1)
        finished |= next_ids == EOS_ID
        if bool(finished.all()):
            break
    return [" ".join(vocabulary[index] for index in row[1:].tolist() if index >= len(SPECIAL_TOKENS)) for row in token_ids]


def decoder_vocabulary(words: list[str]) -> list[str]:
    return [*SPECIAL_TOKENS, *words]


def trained_state_dict(model: VLJepa) -> dict[str, torch.Tensor]:
    """Every tensor the checkpoint stores: all but the text base, unless the base was fine-tuned."""
    keep_base = model.config.y_encoder.base_in_checkpoint
    return {
        name: tensor.detach().contiguous()
        for name, tensor in model.state_dict().items()
        if keep_base or not name.startswith("y_encoder.base.")
    }


def save_vljepa(model: VLJepa, path: Path) -> Path:
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    save_file(trained_state_dict(model), str(path / WEIGHTS_FILE), metadata={"format": CHECKPOINT_FORMAT})
    (path / CONFIG_FILE).write_text(model.config.model_dump_json(indent=2) + "\n")
    return path


def read_config(path: Path) -> VLJepaConfig:
    config_path = Path(path) / CONFIG_FILE
    if not Path(path).is_dir():
        raise CheckpointError(f"checkpoint: {path} is not a directory")
    if not config_path.is_file():
        raise CheckpointError(f"checkpoint: {path} has no {CONFIG_FILE}; is it a VL-JEPA checkpoint folder?")
    try:
        raw = json.loads(config_path.read_text())
    except json.JSONDecodeError as error:
        raise CheckpointError(f"checkpoint: {config_path} is not valid JSON ({error})") from None
    if not isinstance(raw, dict) or raw.get("format") != CHECKPOINT_FORMAT:
        found = raw.get("format") if isinstance(raw, dict) else type(raw).__name__
        raise CheckpointError(f"checkpoint: {config_path} format is {found!r}, need {CHECKPOINT_FORMAT!r}")
    try:
        return VLJepaConfig.model_validate(raw)
    except ValidationError as error:
        raise CheckpointError(f"checkpoint: {config_path} is invalid: {error}") from None


def load_vljepa(path: Path) -> VLJepa:
    """Builds the model from `config.json` and loads `model.safetensors` (the text base from its source)."""
    config = read_config(path)
    weights_path = Path(path) / WEIGHTS_FILE
    if not weights_path.is_file():
        raise CheckpointError(f"checkpoint: {path} has no {WEIGHTS_FILE}")
    model = VLJepa(config)
    stored = load_file(str(weights_path))
    expected = trained_state_dict(model).keys()
    missing = sorted(set(expected) - stored.keys())
    unexpected = sorted(stored.keys() - set(expected))
    if missing or unexpected:
        raise CheckpointError(
            f"checkpoint: {weights_path} does not match config.json "
            f"(missing {missing[:5]}{'...' if len(missing) > 5 else ''}, unexpected {unexpected[:5]})"
        )
    try:
        model.load_state_dict(stored, strict=False)
    except RuntimeError as error:
        raise CheckpointError(f"checkpoint: {weights_path} does not match config.json ({error})") from None
    return model.eval()


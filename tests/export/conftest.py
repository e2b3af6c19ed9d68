"""Tiny checkpoints of every format the export stage reads, built on the fly."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

from support.upstream import TINY_VJEPA2, tiny_vjepa2, to_upstream

TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json")


@pytest.fixture(scope="session")
def classifier_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A `VJEPA2ForVideoClassification` folder whose pooler is not at its initial values."""
    from transformers import VJEPA2Config, VJEPA2ForVideoClassification

    torch.manual_seed(3)
    config = VJEPA2Config(**TINY_VJEPA2, num_labels=5, architectures=["VJEPA2ForVideoClassification"])
    model = VJEPA2ForVideoClassification(config).eval()
    with torch.no_grad():
        for parameter in model.pooler.parameters():
            parameter.add_(0.05 * torch.randn_like(parameter))
    directory = tmp_path_factory.mktemp("checkpoints") / "vjepa2-classifier"
    model.save_pretrained(directory)
    return directory


@pytest.fixture(scope="session")
def official_checkpoint(tmp_path_factory: pytest.TempPathFactory):
    """A fake facebookresearch/vjepa2 training checkpoint: two different encoders, a predictor,
    optimiser state; and the config.json that tells its geometry. Returns (file, config, target, online)."""
    target, online = tiny_vjepa2(seed=11), tiny_vjepa2(seed=12)
    directory = tmp_path_factory.mktemp("official")
    checkpoint = {
        "encoder": to_upstream(online.state_dict()),
        "target_encoder": to_upstream(target.state_dict()),
        "predictor": {"module.backbone.predictor_embed.weight": torch.zeros(32, 64)},
        "opt": {"state": {}, "param_groups": []},
        "epoch": 7,
        "loss": 0.25,
    }
    torch.save(checkpoint, directory / "vitl-tiny.pt")
    target.config.to_json_file(str(directory / "config.json"))
    return directory / "vitl-tiny.pt", directory / "config.json", target, online


def _tiny_bert(directory: Path, seed: int) -> Path:
    from transformers import BertConfig, BertModel

    from jepa_export.checkpoints import bundled_minilm_dir

    torch.manual_seed(seed)
    config = BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64, max_position_embeddings=128)
    BertModel(config).eval().save_pretrained(directory)
    for name in TOKENIZER_FILES:
        shutil.copy(bundled_minilm_dir() / name, directory / name)
    return directory


@pytest.fixture(scope="session")
def plain_text_encoder_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A plain Hugging Face `AutoModel` folder with a tokenizer.json (no sentence-transformers files)."""
    return _tiny_bert(tmp_path_factory.mktemp("text") / "plain-bert", seed=21)


@pytest.fixture(scope="session")
def sentence_transformers_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A sentence-transformers folder: Transformer, CLS pooling, two Dense layers (as
    EmbeddingGemma has), Normalize."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.base.modules.dense import Dense
    from sentence_transformers.base.modules.normalize import Normalize
    from sentence_transformers.base.modules.transformer import Transformer
    from sentence_transformers.sentence_transformer.modules.pooling import Pooling

    root = tmp_path_factory.mktemp("text")
    bert = _tiny_bert(root / "bert", seed=22)
    torch.manual_seed(23)
    model = SentenceTransformer(
        modules=[
            Transformer(str(bert), max_seq_length=64),
            Pooling(32, "cls"),
            Dense(32, 48, activation_function=torch.nn.Tanh()),
            Dense(48, 24, activation_function=torch.nn.Identity()),
            Normalize(),
        ],
        device="cpu",
    )
    model.save(str(root / "sentence-encoder"))
    return root / "sentence-encoder"


@pytest.fixture(scope="session")
def gemma_sentence_transformers_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """EmbeddingGemma's layout at toy size: a bidirectional Gemma 3 text model with a sliding
    window shorter than the test sentences, mean pooling, two bias-free Dense layers, Normalize."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.base.modules.dense import Dense
    from sentence_transformers.base.modules.normalize import Normalize
    from sentence_transformers.base.modules.transformer import Transformer
    from sentence_transformers.sentence_transformer.modules.pooling import Pooling
    from transformers import Gemma3TextConfig, Gemma3TextModel

    from jepa_export.checkpoints import bundled_minilm_dir

    root = tmp_path_factory.mktemp("gemma")
    torch.manual_seed(31)
    config = Gemma3TextConfig(
        vocab_size=30522, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=2,
        num_key_value_heads=1, head_dim=32, max_position_embeddings=256, sliding_window=8, use_bidirectional_attention=True,
    )
    Gemma3TextModel(config).eval().save_pretrained(root / "gemma")
    for name in TOKENIZER_FILES:
        shutil.copy(bundled_minilm_dir() / name, root / "gemma" / name)
    model = SentenceTransformer(
        modules=[
            Transformer(str(root / "gemma"), max_seq_length=128),
            Pooling(64, "mean"),
            Dense(64, 96, bias=False, activation_function=torch.nn.Identity()),
            Dense(96, 64, bias=False, activation_function=torch.nn.Identity()),
            Normalize(),
        ],
        device="cpu",
    )
    model.save(str(root / "embeddinggemma-like"))
    return root / "embeddinggemma-like"

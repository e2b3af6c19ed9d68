"""Build test repositories out of an exported one: copy a model's folder, read and rewrite its
config.pbtxt through Triton's own protobuf."""

from __future__ import annotations

import shutil
from pathlib import Path

from google.protobuf import text_format
from tritonclient.grpc import model_config_pb2


def read_config(model_dir: Path) -> model_config_pb2.ModelConfig:
    return text_format.Parse((model_dir / "config.pbtxt").read_text(), model_config_pb2.ModelConfig())


def write_config(model_dir: Path, config: model_config_pb2.ModelConfig) -> None:
    (model_dir / "config.pbtxt").write_text(text_format.MessageToString(config))


def copy_model(source: Path, name: str, destination: Path) -> Path:
    """The model folder `name` of repository `source`, whole, into repository `destination`."""
    shutil.copytree(source / name, destination / name)
    return destination / name

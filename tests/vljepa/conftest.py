"""Tiny VL-JEPA configurations, so every part runs in milliseconds (the MiniLM base is the real one)."""

from __future__ import annotations

import pytest
import torch

from jepa_export.vljepa.config import VLJepaConfig
from jepa_export.vljepa.model import VLJepa
from support.tiny_vljepa import build_tiny_config


@pytest.fixture
def tiny_config() -> VLJepaConfig:
    return build_tiny_config()


@pytest.fixture(scope="session")
def tiny_model() -> VLJepa:
    torch.manual_seed(0)
    return VLJepa(build_tiny_config()).eval()

"""Tokenize texts the way sentence-transformers does, into padded int64 batches for Triton."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer

from jepa_server.errors import InvalidInput


@dataclass(frozen=True)
class TokenBatch:
    input_ids: np.ndarray  # (B, L) int64
    attention_mask: np.ndarray  # (B, L) int64
    truncated: list[bool]


class TextTokenizer:
    """Wraps `tokenizer.json`. The MiniLM file hard-codes padding and truncation at 128; we pad
    to the longest text (rounded up to `bucket` so similar lengths share a Triton batch) and
    truncate at the model's `max_tokens`, as sentence-transformers does."""

    def __init__(self, tokenizer_file: Path, max_tokens: int, bucket: int = 16) -> None:
        self.tokenizer = Tokenizer.from_file(str(tokenizer_file))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_tokens)
        self.max_tokens = max_tokens
        self.bucket = max(1, bucket)
        self.pad_id = self.tokenizer.token_to_id("[PAD]") or 0

    def encode(self, texts: list[str], truncate: bool = True) -> TokenBatch:
        encodings = self.tokenizer.encode_batch(texts)
        truncated = [bool(encoding.overflowing) for encoding in encodings]
        if not truncate:
            for index, was_truncated in enumerate(truncated):
                if was_truncated:
                    raise InvalidInput(f"texts[{index}]", f"longer than the model's {self.max_tokens} tokens")
        longest = max(len(encoding.ids) for encoding in encodings)
        length = min(self.max_tokens, -(-longest // self.bucket) * self.bucket)
        input_ids = np.full((len(texts), length), self.pad_id, dtype=np.int64)
        attention_mask = np.zeros((len(texts), length), dtype=np.int64)
        for row, encoding in enumerate(encodings):
            input_ids[row, : len(encoding.ids)] = encoding.ids
            attention_mask[row, : len(encoding.ids)] = 1
        return TokenBatch(input_ids, attention_mask, truncated)

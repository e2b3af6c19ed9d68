"""Text input: tokenization with Hugging Face `tokenizers` (no torch)."""

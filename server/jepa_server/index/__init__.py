"""Adapters of the video index (Milvus)."""

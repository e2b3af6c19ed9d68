"""The index type follows a collection's size: exact FLAT on a small Milvus Lite collection, IVF_FLAT
once it crosses the threshold (rebuilt by the seal that crosses it, searches still answering right);
HNSW on a server from the start."""

from __future__ import annotations

import numpy as np

from jepa_server.index.milvus import CollectionSpec, MilvusIndex, WindowRow

SPEC = CollectionSpec(model="sizes", version="1", dimension=8, embedding_space="index-type-test")
THRESHOLD, WINDOWS = 40, 2


async def test_the_index_type_follows_the_collection_size(new_index_uri, index_backend) -> None:
    index = MilvusIndex(new_index_uri(), ann_threshold_rows=THRESHOLD)
    vectors = np.random.default_rng(5).normal(size=(THRESHOLD, WINDOWS, SPEC.dimension)).astype(np.float32)
    small, large = ("FLAT", "IVF_FLAT") if index_backend == "milvus-lite" else ("HNSW", "HNSW")
    try:
        for video in range(THRESHOLD // WINDOWS - 1):
            await index.replace_video(SPEC, f"v{video}", [WindowRow(w, w, w + 1.0, vectors[video, w]) for w in range(WINDOWS)], {})
        await index.seal(SPEC)
        assert (await index.stats(SPEC)).index_type == small
        await index.replace_video(SPEC, "last", [WindowRow(w, w, w + 1.0, vectors[-1, w]) for w in range(WINDOWS)], {})
        await index.seal(SPEC)
        stats = await index.stats(SPEC)
        assert (stats.rows, stats.index_type) == (THRESHOLD, large)
        for video, query in ((3, vectors[3, 1]), ("last", vectors[-1, 0])):
            best = (await index.search(SPEC, query, top_k=3))[0]
            assert best.video_id == (f"v{video}" if isinstance(video, int) else video) and best.score > 0.999
    finally:
        await index.close()

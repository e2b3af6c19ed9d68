"""Writes that arrive together share one delete-and-insert (group commit), with the same outcome
as one after another: every video whole, the later of two writes of one id winning."""

from __future__ import annotations

import asyncio

import numpy as np

from jepa_server.index.milvus import CollectionSpec, MilvusIndex, WindowRow

SPEC = CollectionSpec(model="group", version="1", dimension=8, embedding_space="group-commit-test")


def windows(count: int, seed: int) -> list[WindowRow]:
    vectors = np.random.default_rng(seed).normal(size=(count, SPEC.dimension)).astype(np.float32)
    return [WindowRow(index, float(index), index + 1.0, vectors[index]) for index in range(count)]


async def test_concurrent_writes_share_deletes_and_the_later_write_of_an_id_wins(new_index_uri) -> None:
    index = MilvusIndex(new_index_uri())
    try:
        await index.replace_video(SPEC, "warm", windows(1, 0), {})  # the collection exists before the burst
        client = await index._run(lambda client: client)
        deletes: list[str] = []
        original_delete = client.delete

        def counting_delete(*args, **kwargs):
            deletes.append(kwargs.get("filter", ""))
            return original_delete(*args, **kwargs)

        client.delete = counting_delete
        writes = [index.replace_video(SPEC, f"v{video}", windows(2, video + 1), {"n": video}) for video in range(40)]
        writes += [index.replace_video(SPEC, "twice", windows(3, 100), {"version": 1}), index.replace_video(SPEC, "twice", windows(2, 101), {"version": 2})]
        await asyncio.gather(*writes)
        client.delete = original_delete

        assert 1 <= len(deletes) < 10, f"{len(deletes)} deletes for 42 concurrent writes"
        stats = await index.stats(SPEC)
        assert (stats.rows, stats.videos) == (1 + 40 * 2 + 2, 42)
        twice = (await index.video_windows(SPEC, ["twice"]))["twice"]
        assert [window.window_index for window in twice] == [0, 1]
        np.testing.assert_allclose(twice[1].embedding, windows(2, 101)[1].embedding, rtol=1e-6)
        assert (await index.search(SPEC, windows(2, 101)[0].embedding, top_k=1))[0].metadata == {"version": 2}
    finally:
        await index.close()

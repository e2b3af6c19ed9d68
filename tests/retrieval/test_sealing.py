"""One IndexVideos call flushes what it wrote on Milvus Lite, once per collection: rows left in
Lite's growing segment are searched by scanning every row (the index study: 31 ms p50 over 1,000
unflushed rows, 5 ms after a flush)."""

from __future__ import annotations

import numpy as np

from jepa_client import IndexItem
from support.media import moving_bar_frames


def test_one_indexing_call_seals_each_collection_it_wrote_once(gateway, client, monkeypatch) -> None:
    index = gateway.gateway.index
    sealed: list[str] = []
    original = index.seal

    async def recording_seal(spec):
        sealed.append(spec.name)
        await original(spec)

    monkeypatch.setattr(index, "seal", recording_seal)
    items = [IndexItem(f"sealing/{seed}", moving_bar_frames(16, seed=seed), frames_fps=8) for seed in (61, 62, 63)]
    report = client.index_videos(items)
    assert all(item.ok for item in report.items)
    assert sealed == [report.items[0].collection]
    query = client.embed_video(moving_bar_frames(16, seed=62), frames_fps=8).embedding
    assert client.search(embedding=np.asarray(query), top_k=1, filter='video_id like "sealing/%"').hits[0].video_id == "sealing/62"
    failed = client.index_videos([IndexItem("sealing/broken", b"not a video")])
    assert not failed.items[0].ok and sealed == [report.items[0].collection], "nothing written, nothing to seal"

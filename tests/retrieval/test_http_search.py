"""Text search over HTTP: the ranking, scores and moments gRPC gives, and the source of a video
indexed by URI, which the search page plays."""

from __future__ import annotations

import httpx
import pytest

from jepa_client import Client

QUERY = "a red bar sliding right"


def test_text_search_over_http_equals_grpc_with_moments(shared_space_gateway, event_videos) -> None:
    request = {"text": QUERY, "top_k": 3, "filter": 'metadata["kind"] == "event"', "moments": True}
    answer = httpx.post(f"{shared_space_gateway.http_url}/v1/search", json=request, timeout=60)
    assert answer.status_code == 200, answer.text
    hits = answer.json()["hits"]
    with Client(shared_space_gateway.address) as client:
        expected = client.search(QUERY, top_k=3, filter='metadata["kind"] == "event"', moments=True).hits
    assert [hit["video_id"] for hit in hits] == [hit.video_id for hit in expected]
    for hit, reference in zip(hits, expected):
        assert hit["score"] == pytest.approx(reference.score, abs=1e-6)
        assert (hit["moment_start_seconds"], hit["moment_end_seconds"]) == pytest.approx(reference.moment)
        assert hit["metadata"] == {"source_uri": event_videos[hit["video_id"]].name, "kind": "event"}

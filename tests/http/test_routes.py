"""Every HTTP route and every HTTP error code on real gateways: the same core as gRPC (same
vectors, same index), the same limits, tokens and TLS, errors in OpenAI's shape, and the request
metrics labelled with the protocol."""

from __future__ import annotations

import base64
import json
import ssl
from pathlib import Path

import httpx
import numpy as np
import pytest

from support.media import moving_bar_frames, write_video
from support.pki import make_pki
from support.prometheus_text import sample_value


@pytest.fixture(scope="module")
def clip(gateway) -> Path:
    """A video under the session gateway's media root."""
    return write_video(gateway.settings.media_roots[0] / "http-clip.mp4", moving_bar_frames(24, seed=5), fps=8)


def error_of(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text[:500]
    return response.json()["error"]


def test_health_ready_schema_and_docs(http_client: httpx.Client) -> None:
    assert http_client.get("/health").json() == {"status": "ok"}
    ready = http_client.get("/ready")
    assert ready.status_code == 200 and ready.json()["services"]["jepa.v1.RetrievalService"] is True
    paths = http_client.get("/openapi.json").json()["paths"]
    for path in ("/v1/embeddings", "/v1/videos/embeddings", "/v1/search", "/v1/index", "/v1/videos/{video_id}", "/v1/index/stats", "/v1/models", "/v1/plan"):
        assert path in paths, path
    schema = http_client.get("/openapi.json").json()
    assert "multipart/form-data" in schema["paths"]["/v1/index"]["post"]["requestBody"]["content"]
    assert "EmbeddingsRequest" in schema["components"]["schemas"]
    docs = http_client.get("/docs").text
    assert "/static/docs/swagger-ui-bundle.js" in docs and "cdn" not in docs.lower()
    assert http_client.get("/static/docs/swagger-ui-bundle.js").status_code == 200
    page = http_client.get("/").text
    assert "<script src=\"/static/app.js\"></script>" in page and "http" not in page.replace("http-equiv", "")


def test_video_embeddings_by_upload_uri_base64_and_frames_equal_grpc(http_client: httpx.Client, client, clip: Path) -> None:
    reference = client.embed_video(clip, return_windows=True)
    uploaded = http_client.post("/v1/videos/embeddings", files={"file": ("clip.mp4", clip.read_bytes())}, data={"return_windows": "true"}).json()
    by_uri = http_client.post("/v1/videos/embeddings", json={"video": {"uri": clip.name}}).json()
    by_base64 = http_client.post("/v1/videos/embeddings", json={"video": {"encoded": base64.b64encode(clip.read_bytes()).decode()}}).json()
    for answer in (uploaded, by_uri, by_base64):
        np.testing.assert_allclose(answer["embedding"], reference.embedding, atol=1e-5)
        assert answer["num_windows"] == reference.num_windows and answer["model"]["id"] == reference.model.name
    assert len(uploaded["windows"]) == reference.num_windows and by_uri["windows"] == []
    frames = moving_bar_frames(16, seed=3)
    raw = {"data": base64.b64encode(frames.tobytes()).decode(), "num_frames": 16, "height": 96, "width": 128, "fps": 8}
    from_frames = http_client.post("/v1/videos/embeddings", json={"video": {"frames": raw}}).json()
    np.testing.assert_allclose(from_frames["embedding"], client.embed_video(frames, frames_fps=8).embedding, atol=1e-5)


def test_index_search_stats_and_delete(http_client: httpx.Client, client, clip: Path) -> None:
    videos = [write_video(clip.parent / f"http-index-{seed}.mp4", moving_bar_frames(16, seed=seed), fps=8) for seed in (21, 22)]
    files = [("file", (video.name, video.read_bytes())) for video in videos]
    form = {"id": ["up-a", "up-b"], "metadata": [json.dumps({"tag": "a"}), json.dumps({"tag": "b"})]}
    report = http_client.post("/v1/index", files=files, data=form).json()
    assert [(item["id"], item["status"]) for item in report["items"]] == [("up-a", 200), ("up-b", 200)]
    by_uri = http_client.post("/v1/index", json={"items": [
        {"id": "by-uri", "video": {"uri": clip.name}, "metadata": {"tag": "uri"}},
        {"id": "broken", "video": {"uri": "missing.mp4"}},
        {"id": "no-source", "video": {}},
    ]}).json()["items"]
    assert [item["status"] for item in by_uri] == [200, 404, 400]
    assert by_uri[1]["error"]["message"] == "video.uri: 'missing.mp4' does not exist under the media roots"
    assert by_uri[2]["error"]["message"] == "items[2].video: set one of encoded, frames or uri"
    stats = http_client.get("/v1/index/stats", params={"ids": ["up-a", "by-uri", "never"]}).json()
    assert sorted(stats["indexed_ids"]) == ["by-uri", "up-a"] and stats["videos"] >= 3
    query = client.embed_video(videos[0]).embedding.tolist()
    found = http_client.post("/v1/search", json={"embedding": query, "top_k": 2, "filter": 'metadata["tag"] in ["a", "b"]'}).json()
    assert found["hits"][0]["video_id"] == "up-a" and found["hits"][0]["metadata"] == {"tag": "a"}
    grpc_hits = client.search(embedding=np.asarray(query), top_k=2, filter='metadata["tag"] in ["a", "b"]').hits
    assert [hit["video_id"] for hit in found["hits"]] == [hit.video_id for hit in grpc_hits]
    by_video = http_client.post("/v1/search", files={"file": ("q.mp4", videos[1].read_bytes())}, data={"top_k": "1", "filter": 'metadata["tag"] == "b"'}).json()
    assert by_video["hits"][0]["video_id"] == "up-b"
    uri_hit = http_client.post("/v1/search", json={"embedding": client.embed_video(clip).embedding.tolist(), "top_k": 1}).json()["hits"][0]
    assert uri_hit["video_id"] == "by-uri" and uri_hit["metadata"] == {"source_uri": clip.name, "tag": "uri"}
    rows_before = http_client.get("/v1/index/stats").json()["rows"]
    deleted = http_client.delete("/v1/videos/up-b").json()
    assert deleted["deleted"] is True and deleted["rows_deleted"] == rows_before - http_client.get("/v1/index/stats").json()["rows"] > 0
    assert error_of(http_client.delete("/v1/videos/up-b"), 404)["param"] == "video_id"


def test_media_is_served_with_range_requests_inside_the_roots_only(http_client: httpx.Client, clip: Path) -> None:
    size = clip.stat().st_size
    partial = http_client.get("/v1/media", params={"uri": clip.name}, headers={"Range": "bytes=10-109"})
    assert partial.status_code == 206 and partial.content == clip.read_bytes()[10:110]
    assert partial.headers["content-range"] == f"bytes 10-109/{size}"
    assert error_of(http_client.get("/v1/media", params={"uri": "/etc/passwd"}), 400)["param"] == "uri"
    assert error_of(http_client.get("/v1/media", params={"uri": "missing.mp4"}), 404)["message"].startswith("uri: 'missing.mp4' does not exist")


def test_errors_have_openai_shape_and_the_status_of_their_kind(http_client: httpx.Client) -> None:
    assert error_of(http_client.post("/v1/embeddings", content=b"{not json", headers={"content-type": "application/json"}), 400)["param"] == "body"
    # Our own bodies refuse unknown fields (a typo is an error); OpenAI's request tolerates them, as OpenAI does.
    assert error_of(http_client.post("/v1/search", json={"embeding": [1.0]}), 400)["param"] == "embeding"
    assert http_client.post("/v1/embeddings", json={"input": "a", "user": "someone", "extra_field": 1}).status_code == 200
    assert error_of(http_client.post("/v1/search", json={"text": "a dog", "top_k": 1001}), 413)["message"] == "top_k: got 1001, the limit is 1000"
    # The session's video and text models live in different embedding spaces: text cannot search video.
    assert error_of(http_client.post("/v1/search", json={"text": "a dog"}), 409)["param"] == "model"
    assert error_of(http_client.post("/v1/search", json={"top_k": 3}), 400)["message"] == "query: set one of text, video or embedding"
    assert error_of(http_client.get("/v1/nothing-here"), 404)["message"].startswith("/v1/nothing-here")
    slow = http_client.post("/v1/videos/embeddings", json={"video": {"uri": "http-clip.mp4"}}, headers={"x-request-timeout": "0.001"})
    assert error_of(slow, 504)["type"] == "timeout_error"
    assert error_of(http_client.post("/v1/embeddings", json={"input": "a"}, headers={"x-request-timeout": "soon"}), 400)["param"] == "x-request-timeout"


def test_http_calls_count_in_the_same_metrics_with_a_protocol_label(http_client: httpx.Client, gateway) -> None:
    before = sample_value(gateway.metrics_text(), "jepa_requests_total", method="EmbedText", protocol="http", code="OK")
    assert http_client.post("/v1/embeddings", json={"input": ["one", "two"]}).status_code == 200
    http_client.post("/v1/embeddings", json={"input": []})
    metrics = gateway.metrics_text()
    assert sample_value(metrics, "jepa_requests_total", method="EmbedText", protocol="http", code="OK") == before + 1
    assert sample_value(metrics, "jepa_requests_total", method="EmbedText", protocol="http", code="INVALID_ARGUMENT") >= 1
    assert sample_value(metrics, "jepa_request_duration_seconds_count", method="EmbedText", protocol="http") >= 2
    assert sample_value(metrics, "jepa_requests_total", protocol="grpc") >= 1


def test_bodies_over_the_limit_get_413_declared_or_streamed(start_gateway) -> None:
    small = start_gateway(max_message_bytes=4096)
    with httpx.Client(base_url=small.http_url, timeout=30) as http:
        declared = http.post("/v1/embeddings", json={"input": "x" * 10_000})
        assert error_of(declared, 413)["message"].startswith("body: ")

        def chunks():
            for _ in range(10):
                yield b" " * 1000

        streamed = http.post("/v1/embeddings", content=chunks(), headers={"content-type": "application/json"})
        assert error_of(streamed, 413)["message"] == "body: more than 4096 bytes (max_message_bytes)"
        assert http.post("/v1/embeddings", json={"input": "still fine"}).status_code == 200


def test_tokens_scopes_and_the_media_token_parameter(start_gateway, tmp_path: Path, gateway) -> None:
    tokens = tmp_path / "tokens.txt"
    tokens.write_text("all-token\nsearch-token search\n")
    guarded = start_gateway(auth_tokens_file=tokens)
    clip = write_video(gateway.settings.media_roots[0] / "http-token-clip.mp4", moving_bar_frames(8, seed=2), fps=8)
    with httpx.Client(base_url=guarded.http_url, timeout=30) as http:
        stranger = error_of(http.post("/v1/embeddings", content=b"{broken"), 401)  # the token before the body
        assert stranger["type"] == "authentication_error"
        searcher = {"Authorization": "Bearer search-token"}
        assert error_of(http.post("/v1/index", json={"items": []}, headers=searcher), 403)["message"].startswith("authorization: this token may not call IndexVideos")
        assert http.get("/v1/index/stats", headers=searcher).status_code == 200
        assert http.get("/v1/scopes", headers=searcher).json() == {"authentication": True, "scopes": ["search"]}
        assert http.get("/v1/media", params={"uri": clip.name, "access_token": "search-token"}).status_code == 200
        assert http.get("/v1/media", params={"uri": clip.name}).status_code == 401
        assert http.get("/health").status_code == 200 and http.get("/").status_code == 200


def test_an_unreachable_triton_answers_503_with_retry_after(start_gateway) -> None:
    orphan = start_gateway(ready_timeout_s=None, triton_url="127.0.0.1:9")
    with httpx.Client(base_url=orphan.http_url, timeout=30) as http:
        refused = http.post("/v1/embeddings", json={"input": "a dog"})
        assert error_of(refused, 503)["type"] == "service_unavailable_error"
        assert refused.headers["retry-after"] == "1"
        assert http.get("/ready").status_code == 503


def test_tls_serves_https_with_the_same_certificates(start_gateway, tmp_path: Path) -> None:
    pki = make_pki()
    for name, pem in (("server.pem", pki.server_chain), ("server.key", pki.server_key), ("ca.pem", pki.ca)):
        (tmp_path / name).write_bytes(pem)
    secure = start_gateway(tls_cert_file=tmp_path / "server.pem", tls_key_file=tmp_path / "server.key")
    trust = ssl.create_default_context(cadata=pki.ca.decode())
    port = secure.gateway.http_port
    with httpx.Client(verify=trust, timeout=30) as http:
        # The certificate names SERVER_NAME; connect to 127.0.0.1 while checking that name.
        response = http.post(f"https://127.0.0.1:{port}/v1/embeddings", json={"input": "a dog"}, extensions={"sni_hostname": pki.server_name})
    assert response.status_code == 200
    with pytest.raises(httpx.ConnectError):
        httpx.post(f"https://127.0.0.1:{port}/v1/embeddings", json={"input": "a dog"}, timeout=10)


def test_embedding_health_reports_the_gauges_of_served_models(http_client: httpx.Client, gateway) -> None:
    assert http_client.post("/v1/embeddings", json={"input": ["a dog", "a cat", "a red circle"]}).status_code == 200
    health = http_client.get("/v1/embedding-health").json()
    metrics = gateway.metrics_text()
    assert set(health["text_encoder"]) == {"norm_mean", "pairwise_cosine_mean", "effective_rank"}
    assert health["text_encoder"]["effective_rank"] > 1
    assert health["text_encoder"]["norm_mean"] == pytest.approx(sample_value(metrics, "jepa_embedding_norm_mean", model="text_encoder"), rel=1e-3)

"""The bad-input catalogue again, over HTTP: each gRPC request becomes the JSON or multipart request
that carries the same input, and must get the HTTP status of its gRPC code, the same message
(with the field as HTTP callers name it) and, after the whole catalogue, a server that still
answers correctly."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import httpx
import numpy as np
import pytest

from jepa_client.v1 import embedding_pb2
from support.bad_input import CATALOGUE, EXHAUSTED, INVALID, NOT_FOUND, Case
from support.prometheus_text import sample_value

HTTP_STATUS = {INVALID: 400, EXHAUSTED: 413, NOT_FOUND: 404}


def _sampling(video: Any) -> dict[str, Any]:
    return {field.name: value for field, value in video.sampling.ListFields()}


def _video_request(request: embedding_pb2.EmbedVideoRequest) -> tuple[str, dict[str, Any]]:
    video = request.video
    kind = video.WhichOneof("source")
    if kind == "encoded":
        form = {"sampling": json.dumps(_sampling(video)), "model": request.model}
        return "/v1/videos/embeddings", {"files": {"file": ("video.bin", bytes(video.encoded))}, "data": form}
    source: dict[str, Any] = {}
    if kind == "uri":
        source = {"uri": video.uri}
    elif kind == "frames":
        frames = video.frames
        source = {"frames": {"data": base64.b64encode(frames.data).decode(), "num_frames": frames.num_frames,
                             "height": frames.height, "width": frames.width, "fps": frames.fps}}
    body = {"video": {**source, "sampling": _sampling(video)}, "model": request.model}
    return "/v1/videos/embeddings", {"content": json.dumps(body), "headers": {"content-type": "application/json"}}


def http_request(case: Case, env: Any) -> tuple[str, dict[str, Any], str]:
    """(path, httpx arguments, the message regex HTTP answers with)."""
    request = case.build(env)
    if isinstance(request, bytes):  # bytes that are no valid message: bytes that are no valid JSON
        path = "/v1/embeddings" if case.method == "EmbedText" else "/v1/videos/embeddings"
        return path, {"content": b'{"input": ["ok", "\xff\xfe"]}', "headers": {"content-type": "application/json"}}, r"body: not valid JSON"
    if case.method == "EmbedText":
        body = {"input": list(request.texts), "model": request.model}
        return "/v1/embeddings", {"json": body}, re.sub(r"^texts", "input", case.message)
    if case.method == "EmbedVideoStream":
        data = b"".join(chunk.data for chunk in request)
        model = request[0].model if request else ""
        return "/v1/videos/embeddings", {"files": {"file": ("video.bin", data)}, "data": {"model": model}}, case.message
    path, arguments = _video_request(request)
    return path, arguments, case.message


@pytest.mark.parametrize("name", list(CATALOGUE))
def test_bad_input_over_http_gets_the_status_of_its_grpc_code(name: str, http_client: httpx.Client, env) -> None:
    case = CATALOGUE[name]
    path, arguments, message = http_request(case, env)
    response = http_client.post(path, **arguments)
    assert response.status_code == HTTP_STATUS[case.code], f"{name}: {response.status_code} {response.text[:300]}"
    error = response.json()["error"]
    assert re.match(message, error["message"]), f"{name}: {error['message']!r} does not match {message!r}"
    assert error["param"] == error["message"].split(":", 1)[0]


def test_after_the_whole_catalogue_http_still_answers_correctly(http_client: httpx.Client, raw_caller, env, gateway) -> None:
    from support.bad_input import encoded

    reference = raw_caller("EmbedVideo", encoded(env.video), embedding_pb2.EmbedVideoResponse)
    response = http_client.post("/v1/videos/embeddings", files={"file": ("clip.mp4", env.video)})
    assert response.status_code == 200, response.text
    np.testing.assert_allclose(response.json()["embedding"], np.asarray(reference.embedding.values), atol=1e-5)
    assert http_client.get("/ready").json()["ready"] is True
    metrics = gateway.metrics_text()
    assert sample_value(metrics, "jepa_requests_total", protocol="http", code="INTERNAL") == 0
    assert sample_value(metrics, "jepa_requests_total", protocol="http", code="INVALID_ARGUMENT") >= len(CATALOGUE) // 2

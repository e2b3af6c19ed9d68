"""The requests the studies send, built once up front (the load generator shares the machine
with the server, so it should spend its CPU on sending, not on building messages)."""

from __future__ import annotations

import itertools
import json

import httpx
import numpy as np
import tritonclient.grpc.aio as triton_grpc

from benchmarks.loadgen import Call
from jepa_client import AsyncClient, ClientOptions, RetryPolicy, convert, rpc


def gateway_client(address: str) -> AsyncClient:
    """No retries (a failure is a result) and a deadline longer than any queue in a sweep."""
    return AsyncClient(ClientOptions(address=address, timeout=600.0, retry=RetryPolicy(max_retries=0)))


def embed_text_call(client: AsyncClient, texts: list[str], texts_per_request: int = 1, model: str = "") -> Call:
    requests = itertools.cycle(
        [convert.text_request(texts[start : start + texts_per_request], model) for start in range(0, len(texts), texts_per_request)]
    )

    async def call() -> int:
        result = await client.invoke(rpc.EMBED_TEXT, next(requests))
        return len(result.embeddings)

    return call


def embed_video_call(client: AsyncClient, frames: np.ndarray, model: str = "") -> Call:
    """EmbedVideo with raw frames (one window): decode is out of the picture, preprocessing is in."""
    request = convert.video_request(frames, model=model)

    async def call() -> int:
        result = await client.invoke(rpc.EMBED_VIDEO, request)
        return result.num_windows

    return call


def triton_text_call(client: triton_grpc.InferenceServerClient, model: str, tokenizer, texts: list[str]) -> Call:
    """The same texts sent straight to Triton: tokenized here (as the gateway does), one request each."""
    prepared = []
    for text in texts:
        tokens = tokenizer.encode([text])
        inputs = []
        for name, array in (("input_ids", tokens.input_ids), ("attention_mask", tokens.attention_mask)):
            tensor = triton_grpc.InferInput(name, list(array.shape), "INT64")
            tensor.set_data_from_numpy(array)
            inputs.append(tensor)
        prepared.append(inputs)
    requests = itertools.cycle(prepared)
    outputs = [triton_grpc.InferRequestedOutput("text_embedding")]

    async def call() -> int:
        result = await client.infer(model, next(requests), outputs=outputs)
        return int(result.as_numpy("text_embedding").shape[0])

    return call


def search_text_call(client: AsyncClient, texts: list[str], model: str, top_k: int = 10) -> Call:
    """Search by text: embed the query (Triton), then the index (Milvus), one call."""
    requests = itertools.cycle([convert.search_request(text, top_k=top_k, model=model) for text in texts])

    async def call() -> int:
        await client.invoke(rpc.SEARCH, next(requests))
        return 1

    return call


def http_embed_text_call(client: httpx.AsyncClient, texts: list[str], encoding_format: str) -> Call:
    """POST /v1/embeddings with one text, as the `openai` client sends it (bodies built up front)."""
    bodies = itertools.cycle([json.dumps({"input": [text], "encoding_format": encoding_format}).encode() for text in texts])
    headers = {"content-type": "application/json"}

    async def call() -> int:
        response = await client.post("/v1/embeddings", content=next(bodies), headers=headers)
        response.raise_for_status()
        return len(response.json()["data"])

    return call

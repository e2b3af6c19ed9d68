"""`POST /v1/embeddings` through the real `openai` client: the vectors gRPC gives, in order, in
either encoding, cut to `dimensions` where the model allows it, with the tokenizer's counts, and
errors raised as the client's own exceptions."""

from __future__ import annotations

import base64
from pathlib import Path

import numpy as np
import openai
import pytest
from tokenizers import Tokenizer

TEXTS = ["a red circle moving left", "a dog", "two people shaking hands in a small kitchen", "snow"]


def openai_client(base_url: str, api_key: str = "no-token-needed") -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{base_url}/v1", api_key=api_key, max_retries=0, timeout=60)


@pytest.fixture(scope="module")
def oai(gateway) -> openai.OpenAI:
    return openai_client(gateway.http_url)


def unit(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.linalg.norm(vectors, axis=-1, keepdims=True)


def test_embeddings_equal_the_grpc_vectors_in_input_order(oai: openai.OpenAI, client) -> None:
    response = oai.embeddings.create(model="text_encoder", input=TEXTS)  # the client asks for base64
    assert [item.index for item in response.data] == list(range(len(TEXTS)))
    served = np.asarray([item.embedding for item in response.data])
    reference = client.embed_text(TEXTS).embeddings
    cosines = (unit(served) * unit(reference)).sum(axis=1)
    assert cosines.min() >= 0.99999, cosines
    assert response.model == "text_encoder" and response.object == "list"


def test_float_and_base64_encodings_carry_the_same_vectors(http_client) -> None:
    floats = http_client.post("/v1/embeddings", json={"input": TEXTS, "encoding_format": "float"}).json()
    packed = http_client.post("/v1/embeddings", json={"input": TEXTS, "encoding_format": "base64"}).json()
    for as_float, as_base64 in zip(floats["data"], packed["data"]):
        decoded = np.frombuffer(base64.b64decode(as_base64["embedding"]), dtype="<f4")
        np.testing.assert_array_equal(decoded, np.asarray(as_float["embedding"], dtype=np.float32))


def test_one_string_is_one_embedding(oai: openai.OpenAI, client) -> None:
    response = oai.embeddings.create(model="text_encoder", input="a dog")
    assert len(response.data) == 1
    np.testing.assert_allclose(response.data[0].embedding, client.embed_text(["a dog"]).embeddings[0], atol=1e-6)


def test_usage_counts_the_tokens_the_tokenizer_makes(oai: openai.OpenAI, cpu_repository: Path) -> None:
    tokenizer = Tokenizer.from_file(str(cpu_repository / "text_encoder" / "tokenizer.json"))
    tokenizer.no_padding()
    expected = sum(len(tokenizer.encode(text).ids) for text in TEXTS)
    usage = oai.embeddings.create(model="text_encoder", input=TEXTS).usage
    assert usage.prompt_tokens == usage.total_tokens == expected


def test_dimensions_cut_and_renormalise_where_the_model_allows_it(oai: openai.OpenAI) -> None:
    full = np.asarray(oai.embeddings.create(model="text_encoder", input=TEXTS).data[0].embedding)
    cut = np.asarray(oai.embeddings.create(model="text_encoder", input=TEXTS, dimensions=64).data[0].embedding)
    assert cut.shape == (64,)
    np.testing.assert_allclose(cut, unit(full[:64]), atol=1e-6)
    same = np.asarray(oai.embeddings.create(model="text_encoder", input=TEXTS, dimensions=full.size).data[0].embedding)
    np.testing.assert_allclose(same, full, atol=1e-7)
    with pytest.raises(openai.BadRequestError) as refused:
        oai.embeddings.create(model="text_encoder", input=TEXTS, dimensions=100)
    assert refused.value.body["param"] == "dimensions"
    assert "allows 384, 128, 64" in refused.value.body["message"]


def test_models_list_the_sizes_dimensions_may_take(oai: openai.OpenAI) -> None:
    cards = {model.id: model for model in oai.models.list()}
    assert cards["text_encoder"].model_extra["dimensions"] == [128, 64]
    assert cards["vjepa2_encoder"].model_extra["kind"] == "video"


def test_bad_requests_raise_bad_request_error_naming_the_field(oai: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as empty:
        oai.embeddings.create(model="text_encoder", input=[])
    assert empty.value.body["param"] == "input"
    with pytest.raises(openai.BadRequestError) as blank:
        oai.embeddings.create(model="text_encoder", input=["fine", "  "])
    assert blank.value.body["message"] == "input[1]: empty text"
    with pytest.raises(openai.NotFoundError, match="'nope' is not a served text model"):
        oai.embeddings.create(model="nope", input="a dog")


def test_tokens_and_scopes_raise_authentication_and_permission_errors(start_gateway, tmp_path: Path) -> None:
    tokens = tmp_path / "tokens.txt"
    tokens.write_text("embedder-token embed\nsearcher-token search\n")
    guarded = start_gateway(auth_tokens_file=tokens)
    assert openai_client(guarded.http_url, "embedder-token").embeddings.create(input="a dog", model="text_encoder").data
    with pytest.raises(openai.AuthenticationError):
        openai_client(guarded.http_url, "wrong-token").embeddings.create(input="a dog", model="text_encoder")
    with pytest.raises(openai.PermissionDeniedError, match=r"may not call EmbedText \(needs scope embed; holds search\)"):
        openai_client(guarded.http_url, "searcher-token").embeddings.create(input="a dog", model="text_encoder")


def test_a_full_server_raises_rate_limit_error_with_retry_after(start_gateway) -> None:
    full = start_gateway(max_concurrent_requests=0)
    with pytest.raises(openai.RateLimitError) as refused:
        openai_client(full.http_url).embeddings.create(input="a dog", model="text_encoder")
    assert refused.value.response.headers["retry-after"] == "1"
    assert "max_concurrent_requests" in refused.value.body["message"]

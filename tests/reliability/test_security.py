"""Who may call: TLS, mutual TLS and bearer tokens on real gateways, with certificates made in
the test (`cryptography`)."""

from __future__ import annotations

import logging
from pathlib import Path

import grpc
import numpy as np
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from pydantic import ValidationError

from jepa_client import Client, ClientOptions, IndexItem, PermissionDeniedError, RetryPolicy, TlsOptions, UnauthenticatedError, UnavailableError
from jepa_client.v1 import describe_pb2, embedding_pb2, planning_pb2, retrieval_pb2
from jepa_server.tokens import SCOPES, load_tokens
from jepa_server.settings import Settings
from support.calls import RawCaller
from support.pki import SERVER_NAME, Pki, make_pki

TOKENS = ("alpha-token-1", "beta-token-2")
FILE_TOKEN = "gamma-token-3"
NO_RETRY = RetryPolicy(max_retries=0)


@pytest.fixture(scope="module")
def pki_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Pki, dict[str, Path]]:
    pki = make_pki()
    directory = tmp_path_factory.mktemp("pki")
    files = {name: directory / name for name in ("ca.pem", "server.pem", "server.key", "client.pem", "client.key")}
    for name, pem in zip(files, (pki.ca, pki.server_chain, pki.server_key, pki.client_chain, pki.client_key)):
        files[name].write_bytes(pem)
    return pki, files


@pytest.fixture(scope="module")
def tls_gateway(start_gateway, pki_files):
    _, files = pki_files
    return start_gateway(tls_cert_file=files["server.pem"], tls_key_file=files["server.key"])


@pytest.fixture(scope="module")
def mtls_gateway(start_gateway, pki_files):
    """Mutual TLS and tokens: a caller needs both."""
    _, files = pki_files
    return start_gateway(
        tls_cert_file=files["server.pem"], tls_key_file=files["server.key"], tls_client_ca_file=files["ca.pem"],
        tls_require_client_cert=True, auth_tokens=TOKENS[0],
    )


@pytest.fixture(scope="module")
def token_gateway(start_gateway, tmp_path_factory: pytest.TempPathFactory):
    token_file = tmp_path_factory.mktemp("tokens") / "tokens.txt"
    token_file.write_text(f"# one token per line\n\n{FILE_TOKEN}\n")
    return start_gateway(auth_tokens=", ".join(TOKENS), auth_tokens_file=token_file)


@pytest.fixture(scope="module")
def scoped_gateway(start_gateway, tmp_path_factory: pytest.TempPathFactory):
    token_file = tmp_path_factory.mktemp("scoped") / "tokens.txt"
    token_file.write_text("search-only search\nembedder embed,describe\n")
    return start_gateway(auth_tokens=TOKENS[0], auth_tokens_file=token_file)


@pytest.fixture(scope="module")
def closed_health_gateway(start_gateway):
    return start_gateway(auth_tokens=TOKENS[0], auth_exempt_health=False, auth_exempt_reflection=True)


def embed(address: str, **options) -> object:
    with Client(ClientOptions(address=address, retry=NO_RETRY, timeout=10, **options)) as client:
        return client.embed_text(["who may call"])


def health_status(channel: grpc.Channel, metadata=None) -> int:
    return health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5, metadata=metadata).status


def list_services(channel: grpc.Channel, metadata=None) -> list[str]:
    requests = iter([reflection_pb2.ServerReflectionRequest(list_services="")])
    responses = reflection_pb2_grpc.ServerReflectionStub(channel).ServerReflectionInfo(requests, timeout=5, metadata=metadata)
    return [service.name for response in responses for service in response.list_services_response.service]


def test_tls_gateway_serves_a_client_that_trusts_its_ca(tls_gateway, pki_files) -> None:
    pki, _ = pki_files
    result = embed(tls_gateway.address, tls=TlsOptions(root_certificates=pki.ca, server_name=SERVER_NAME))
    assert result.embeddings.shape == (1, 384)


def test_tls_gateway_refuses_plaintext_and_a_client_that_trusts_another_ca(tls_gateway, pki_files) -> None:
    pki, _ = pki_files
    with pytest.raises(UnavailableError):
        embed(tls_gateway.address)
    with pytest.raises(UnavailableError):
        embed(tls_gateway.address, tls=TlsOptions(root_certificates=pki.stranger_ca, server_name=SERVER_NAME))


def test_mutual_tls_needs_a_client_certificate_and_a_token(mtls_gateway, pki_files) -> None:
    pki, files = pki_files
    server_only = TlsOptions(root_certificates=pki.ca, server_name=SERVER_NAME)
    with pytest.raises(UnavailableError):
        embed(mtls_gateway.address, tls=server_only, token=TOKENS[0])
    with_certificate = TlsOptions.from_files(files["ca.pem"], files["client.pem"], files["client.key"], SERVER_NAME)
    with pytest.raises(UnauthenticatedError):
        embed(mtls_gateway.address, tls=with_certificate)
    assert embed(mtls_gateway.address, tls=with_certificate, token=TOKENS[0]).embeddings.shape == (1, 384)


def test_calls_without_a_valid_token_get_unauthenticated(token_gateway) -> None:
    for token in (None, "wrong", TOKENS[0] + "x", TOKENS[0][:-1]):
        with pytest.raises(UnauthenticatedError, match=r"authorization: missing or invalid bearer token"):
            embed(token_gateway.address, token=token)
    caller = RawCaller(token_gateway.address)
    try:
        for metadata in ((("authorization", TOKENS[0]),), (("authorization", f"Basic {TOKENS[0]}"),), (("x-token", TOKENS[0]),)):
            refused = caller("EmbedText", embedding_pb2.EmbedTextRequest(texts=["hi"]), embedding_pb2.EmbedTextResponse, metadata=metadata)
            assert isinstance(refused, grpc.RpcError) and refused.code() == grpc.StatusCode.UNAUTHENTICATED, metadata
        upload = caller.stream([embedding_pb2.EmbedVideoChunk(data=b"\x00" * 64)])
        assert isinstance(upload, grpc.RpcError) and upload.code() == grpc.StatusCode.UNAUTHENTICATED
    finally:
        caller.close()


def test_every_configured_token_is_accepted_from_the_env_list_and_the_file(token_gateway) -> None:
    for token in (*TOKENS, FILE_TOKEN):
        assert embed(token_gateway.address, token=token).embeddings.shape == (1, 384)
    caller = RawCaller(token_gateway.address)
    try:
        response = caller("EmbedText", embedding_pb2.EmbedTextRequest(texts=["hi"]), embedding_pb2.EmbedTextResponse,
                          metadata=(("authorization", f"bearer {FILE_TOKEN}"),))
        assert isinstance(response, embedding_pb2.EmbedTextResponse), "the scheme name is case-insensitive"
    finally:
        caller.close()


def test_health_is_open_and_reflection_closed_by_default(token_gateway) -> None:
    caller = RawCaller(token_gateway.address)
    try:
        assert health_status(caller.channel) == health_pb2.HealthCheckResponse.SERVING
        with pytest.raises(grpc.RpcError) as refused:
            list_services(caller.channel)
        assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
        assert "jepa.v1.EmbeddingService" in list_services(caller.channel, metadata=(("authorization", f"Bearer {TOKENS[1]}"),))
    finally:
        caller.close()


def test_health_and_reflection_exemptions_are_settings(closed_health_gateway) -> None:
    caller = RawCaller(closed_health_gateway.address)
    try:
        with pytest.raises(grpc.RpcError) as refused:
            health_status(caller.channel)
        assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
        assert health_status(caller.channel, metadata=(("authorization", f"Bearer {TOKENS[0]}"),)) == health_pb2.HealthCheckResponse.SERVING
        assert "grpc.health.v1.Health" in list_services(caller.channel)
    finally:
        caller.close()


def test_tokens_never_reach_the_logs_or_the_settings_repr(token_gateway, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    for token in ("wrong-token-zz", TOKENS[0]):
        try:
            embed(token_gateway.address, token=token)
        except UnauthenticatedError:
            pass
    settings = token_gateway.settings
    for text in (caplog.text, repr(settings), settings.model_dump_json()):
        for token in (*TOKENS, "wrong-token-zz"):
            assert token not in text


def test_tokens_come_from_the_environment_comma_separated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JEPA_AUTH_TOKENS", " one , two,,three ")
    assert [(grant.token, grant.scopes) for grant in load_tokens(Settings())] == [(b"one", None), (b"two", None), (b"three", None)]


def test_a_tokens_file_line_may_name_scopes_and_unknown_scopes_are_refused(tmp_path: Path) -> None:
    tokens = tmp_path / "tokens.txt"
    tokens.write_text("all-rights\nreader search, embed\n")
    assert [(grant.token, grant.scopes) for grant in load_tokens(Settings(auth_tokens_file=tokens))] == [
        (b"all-rights", None), (b"reader", frozenset({"search", "embed"}))
    ]
    tokens.write_text("writer index,admin\n")
    with pytest.raises(ValueError, match=r"line 1: unknown scope admin; scopes are embed, search, index, describe"):
        load_tokens(Settings(auth_tokens_file=tokens))


def test_every_rpc_of_the_protos_belongs_to_exactly_one_scope() -> None:
    methods = [
        method.name
        for module in (embedding_pb2, retrieval_pb2, describe_pb2, planning_pb2)
        for service in module.DESCRIPTOR.services_by_name.values()
        for method in service.methods
    ]
    assert len(methods) >= 10
    for method in methods:
        assert sum(method in operations for operations in SCOPES.values()) == 1, method


def test_a_scoped_token_calls_its_scopes_and_gets_permission_denied_elsewhere(scoped_gateway) -> None:
    def options(token: str) -> ClientOptions:
        return ClientOptions(address=scoped_gateway.address, retry=NO_RETRY, timeout=10, token=token)

    with Client(options("search-only")) as searcher:
        assert len(searcher.search(embedding=np.ones(64, np.float32), top_k=1).hits) == 0
        assert searcher.index_stats().rows == 0
        with pytest.raises(PermissionDeniedError, match=r"may not call IndexVideos \(needs scope index; holds search\)"):
            searcher.index_videos([IndexItem("denied/1", np.zeros((8, 64, 64, 3), np.uint8), frames_fps=8)])
        with pytest.raises(PermissionDeniedError, match=r"needs scope index"):
            searcher.delete_videos("denied/1")
        with pytest.raises(PermissionDeniedError, match=r"needs scope embed"):
            searcher.embed_text(["no"])
    with Client(options("embedder")) as embedder:
        assert embedder.embed_text(["yes"]).embeddings.shape == (1, 384)
        with pytest.raises(PermissionDeniedError, match=r"needs scope search"):
            embedder.search(embedding=np.ones(64, np.float32))
    with Client(options(TOKENS[0])) as unrestricted:
        assert unrestricted.index_stats().rows == 0
    with pytest.raises(UnauthenticatedError):
        embed(scoped_gateway.address, token="search-onl")


def test_a_tokens_file_without_tokens_is_refused(tmp_path: Path) -> None:
    empty = tmp_path / "tokens.txt"
    empty.write_text("# nobody yet\n\n")
    with pytest.raises(ValueError, match=r"auth_tokens_file: .* holds no token"):
        load_tokens(Settings(auth_tokens_file=empty))


def test_inconsistent_tls_settings_are_refused(pki_files) -> None:
    _, files = pki_files
    with pytest.raises(ValidationError, match="tls_cert_file and tls_key_file: TLS needs both or neither"):
        Settings(tls_cert_file=files["server.pem"])
    with pytest.raises(ValidationError, match="tls_require_client_cert: needs tls_client_ca_file"):
        Settings(tls_cert_file=files["server.pem"], tls_key_file=files["server.key"], tls_require_client_cert=True)
    with pytest.raises(ValidationError, match="tls_client_ca_file: client certificates need TLS"):
        Settings(tls_client_ca_file=files["ca.pem"])

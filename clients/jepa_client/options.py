"""Connection settings of a client, and how they become a gRPC channel and call metadata."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import grpc

from jepa_client.retry import RetryPolicy

DEFAULT_ADDRESS = "127.0.0.1:50051"
ADDRESS_VARIABLE = "JEPA_ADDRESS"
DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024
_USER_AGENT = "jepa-client/0.1"


def default_address() -> str:
    """The gateway a client reaches when given none: JEPA_ADDRESS when set, else 127.0.0.1:50051."""
    return os.environ.get(ADDRESS_VARIABLE) or DEFAULT_ADDRESS


def _read(path: str | os.PathLike[str] | None) -> bytes | None:
    return None if path is None else Path(path).read_bytes()


@dataclass(frozen=True)
class TlsOptions:
    """TLS for the channel. All fields empty: verify the server against the system's root CAs.

    root_certificates: PEM of the CA(s) that signed the server certificate.
    certificate_chain, private_key: PEM of the client certificate and its key, for mutual TLS.
    server_name: the name checked against the server certificate when it differs from the
        address (e.g. connecting by IP); testing and private networks only.
    """

    root_certificates: bytes | None = None
    certificate_chain: bytes | None = None
    private_key: bytes | None = None
    server_name: str | None = None

    def __post_init__(self) -> None:
        if (self.certificate_chain is None) != (self.private_key is None):
            raise ValueError("certificate_chain and private_key: mutual TLS needs both or neither")

    @classmethod
    def from_files(
        cls,
        ca: str | os.PathLike[str] | None = None,
        cert: str | os.PathLike[str] | None = None,
        key: str | os.PathLike[str] | None = None,
        server_name: str | None = None,
    ) -> TlsOptions:
        """TlsOptions from PEM files."""
        return cls(_read(ca), _read(cert), _read(key), server_name)

    def credentials(self) -> grpc.ChannelCredentials:
        return grpc.ssl_channel_credentials(self.root_certificates, self.private_key, self.certificate_chain)


@dataclass(frozen=True)
class ClientOptions:
    """Everything a client needs to reach a jepa-serve gateway.

    address: host:port of the gateway (default: JEPA_ADDRESS, else 127.0.0.1:50051); several
        gateways as "host1:port,host2:port"; or "dns:///name:port", every address the name
        resolves to (a Kubernetes headless Service). Several gateways are called round-robin:
        each call goes to the next ready one, and one that goes down is skipped.
    tls: TLS settings; None = plaintext (local development only).
    token: sent as `authorization: Bearer <token>` metadata on every call.
    timeout: default deadline of a call in seconds, retries included; None = no deadline.
    max_message_bytes: limit on request and response size (encoded videos travel in one message).
    retry: backoff of idempotent calls after UNAVAILABLE.
    """

    address: str = field(default_factory=default_address)
    tls: TlsOptions | None = None
    token: str | None = None
    timeout: float | None = 60.0
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES
    retry: RetryPolicy = field(default_factory=RetryPolicy)

    def __post_init__(self) -> None:
        if not self.address:
            raise ValueError("address: empty, need host:port")
        if self.timeout is not None and self.timeout <= 0:
            raise ValueError(f"timeout: got {self.timeout}, need > 0 seconds or None")
        if self.max_message_bytes <= 0:
            raise ValueError(f"max_message_bytes: got {self.max_message_bytes}, need > 0")
        if self.token is not None and (not self.token or not self.token.isprintable()):
            raise ValueError("token: need a non-empty string of printable characters")

    def metadata(self) -> tuple[tuple[str, str], ...]:
        """Metadata sent with every call."""
        return () if self.token is None else (("authorization", f"Bearer {self.token}"),)

    def target(self) -> str:
        """The gRPC target of `address`: several addresses become one static list of IPs (names
        resolved now; IPv4 ones when there are any, as gRPC's list takes one family), so that
        round-robin spreads the calls over them. With TLS, set `tls.server_name` for such a list."""
        addresses = [address.strip() for address in self.address.split(",")]
        if len(addresses) == 1:
            return addresses[0]
        endpoints: dict[int, list[str]] = {socket.AF_INET: [], socket.AF_INET6: []}
        for address in addresses:
            host, _, port = address.rpartition(":")
            if not host or not port.isdigit():
                raise ValueError(f"address: got {address!r} in a list, need host:port")
            for family, _, _, _, socket_address in socket.getaddrinfo(host.strip("[]"), int(port), type=socket.SOCK_STREAM):
                ip = socket_address[0]
                endpoints.setdefault(family, []).append(f"[{ip}]:{port}" if family == socket.AF_INET6 else f"{ip}:{port}")
        if endpoints[socket.AF_INET]:
            return "ipv4:" + ",".join(dict.fromkeys(endpoints[socket.AF_INET]))
        return "ipv6:" + ",".join(dict.fromkeys(endpoints[socket.AF_INET6]))

    def open_channel(self, channel_module: ModuleType) -> Any:
        """A channel from `grpc` (sync) or `grpc.aio` (asyncio); both modules share this API."""
        arguments: list[tuple[str, Any]] = [
            ("grpc.max_send_message_length", self.max_message_bytes),
            ("grpc.max_receive_message_length", self.max_message_bytes),
            ("grpc.primary_user_agent", _USER_AGENT),
        ]
        target = self.target()
        if "," in target or target.startswith("dns:"):
            arguments.append(("grpc.lb_policy_name", "round_robin"))
        if self.tls is None:
            return channel_module.insecure_channel(target, options=arguments)
        if self.tls.server_name:
            arguments.append(("grpc.ssl_target_name_override", self.tls.server_name))
        return channel_module.secure_channel(target, self.tls.credentials(), options=arguments)

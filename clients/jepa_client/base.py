"""What the sync and async clients share: options, channel, metadata, per-method callables, attempts."""

from __future__ import annotations

from types import ModuleType
from typing import Any

from jepa_client.options import ClientOptions
from jepa_client.retry import Attempts
from jepa_client.rpc import Rpc


class ClientBase:
    def __init__(self, options: ClientOptions | str | None, channel_module: ModuleType) -> None:
        if options is None:
            options = ClientOptions()
        elif isinstance(options, str):
            options = ClientOptions(address=options)
        self.options = options
        self._metadata = options.metadata()
        self._channel = options.open_channel(channel_module)
        self._callables: dict[str, Any] = {}
        # Calls resent after UNAVAILABLE since the client opened (for monitoring a failover).
        self.retries = 0

    def _start(self, method: Rpc[Any], timeout: float | None) -> tuple[Any, Attempts]:
        """The channel's callable for `method` and a fresh attempt budget (timeout None: the options' default)."""
        call = self._callables.get(method.path)
        if call is None:
            multi_callable = {
                (False, False): self._channel.unary_unary,
                (True, False): self._channel.stream_unary,
                (False, True): self._channel.unary_stream,
                (True, True): self._channel.stream_stream,
            }[(method.client_streaming, method.server_streaming)]
            call = self._callables[method.path] = multi_callable(
                method.path,
                request_serializer=method.request_type.SerializeToString,
                response_deserializer=method.response_type.FromString,
            )
        attempts = Attempts(
            self.options.retry,
            idempotent=method.idempotent,
            timeout=self.options.timeout if timeout is None else timeout,
        )
        return call, attempts

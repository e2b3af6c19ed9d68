"""A gRPC pass-through in front of a real server (like an Envoy hop): every unary call is forwarded
unchanged; the proxy records the deadline each call arrived with, and can hold calls back (a
backend that stops answering without dying)."""

from __future__ import annotations

import threading
from concurrent import futures
from dataclasses import dataclass

import grpc

_OPTIONS = [("grpc.max_send_message_length", 256 << 20), ("grpc.max_receive_message_length", 256 << 20)]


@dataclass(frozen=True)
class ProxiedCall:
    method: str
    time_remaining: float | None  # seconds left of the caller's deadline on arrival; None = none
    request: bytes


class RecordingProxy(grpc.GenericRpcHandler):
    def __init__(self, target: str) -> None:
        self.calls: list[ProxiedCall] = []
        self.released = threading.Event()
        self.released.set()
        self._channel = grpc.insecure_channel(target, options=_OPTIONS)
        self._server = grpc.server(futures.ThreadPoolExecutor(16), handlers=[self], options=_OPTIONS)
        self.address = f"127.0.0.1:{self._server.add_insecure_port('127.0.0.1:0')}"
        self._server.start()

    def service(self, handler_call_details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler:
        method = handler_call_details.method

        def forward(request: bytes, context: grpc.ServicerContext) -> bytes:
            self.calls.append(ProxiedCall(method, context.time_remaining(), request))
            self.released.wait()
            try:
                return self._channel.unary_unary(method)(request, timeout=context.time_remaining())
            except grpc.RpcError as error:
                context.abort(error.code(), error.details())

        return grpc.unary_unary_rpc_method_handler(forward)

    def hold(self) -> None:
        """Calls arriving from now on wait until `release()`."""
        self.released.clear()

    def release(self) -> None:
        self.released.set()

    def close(self) -> None:
        self.release()
        self._server.stop(None)
        self._channel.close()

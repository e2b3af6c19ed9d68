"""The HTTP port's socket says it is TCP and has TCP_NODELAY: asyncio turns Nagle off only on
connections whose socket says TCP, and with Nagle on every small response waited ~40 ms for the
client's delayed ACK (measured: p50 of EmbedText over HTTP 56 ms against 10 ms over gRPC)."""

from __future__ import annotations

import socket

from jepa_server.http.app import listening_socket


def test_thelistening_socket_is_tcp_with_nodelay_and_its_connections_too() -> None:
    listener = listening_socket("127.0.0.1", 0)
    try:
        assert listener.proto == socket.IPPROTO_TCP
        assert listener.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
        listener.listen()
        with socket.create_connection(listener.getsockname()) as _:
            accepted, _ = listener.accept()
            with accepted:
                assert accepted.proto == socket.IPPROTO_TCP
    finally:
        listener.close()

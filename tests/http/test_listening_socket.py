"""The HTTP port's socket says it is TCP and has TCP_NODELAY: asyncio turns Nagle off only on
connections whose socket says TCP, and with Nagle on every small response waited ~40 ms for the
client's delayed ACK (measured: p50 of EmbedText over HTTP 56 ms against 10 ms over gRPC). A port
that is taken is refused with an error naming the setting."""

from __future__ import annotations

import asyncio
import socket

import pytest
from fastapi import FastAPI

from jepa_server.http.app import HttpServer, listening_socket
from jepa_server.settings import Settings


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


def test_a_taken_http_port_is_refused_naming_the_setting() -> None:
    taken = listening_socket("127.0.0.1", 0)
    taken.listen()
    try:
        port = taken.getsockname()[1]
        with pytest.raises(RuntimeError, match=rf"http_port: cannot bind 127.0.0.1:{port}"):
            asyncio.run(HttpServer(FastAPI(), Settings()).start(port))
    finally:
        taken.close()

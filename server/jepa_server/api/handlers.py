"""Swap the behaviour of a grpc method handler of any kind (unary or streaming on either side)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc

_KINDS = ("unary_unary", "unary_stream", "stream_unary", "stream_stream")


def replace_behavior(handler: grpc.RpcMethodHandler, wrap: Callable[[Callable[..., Any]], Callable[..., Any]], **fields: Any) -> grpc.RpcMethodHandler:
    """`handler` with its behaviour replaced by `wrap(behaviour)` (and any other handler `fields`)."""
    kind = next(name for name in _KINDS if getattr(handler, name) is not None)
    return handler._replace(**{kind: wrap(getattr(handler, kind))}, **fields)

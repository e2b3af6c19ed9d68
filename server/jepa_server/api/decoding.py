"""Requests that do not parse get INVALID_ARGUMENT naming the field, instead of grpc's UNKNOWN.

proto3 `string` fields must hold UTF-8: the protobuf runtime refuses a whole message with one bad
string, and grpc then answers UNKNOWN ("Unexpected DecodeError"). This interceptor gives every
method a deserializer that keeps the failure, finds the field at fault from the raw wire data, and
aborts the call with INVALID_ARGUMENT before the servicer runs.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf import descriptor_pool, empty_pb2
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import DecodeError
from google.protobuf.unknown_fields import UnknownFieldSet

from jepa_server.api.handlers import replace_behavior

_LENGTH_DELIMITED = 2


@dataclass(frozen=True)
class UndecodableRequest:
    """Stands in for a request message that failed to parse."""

    field: str
    problem: str

    def __str__(self) -> str:
        return f"{self.field}: {self.problem}"


def find_undecodable_field(raw: bytes, message: Descriptor, prefix: str = "") -> UndecodableRequest | None:
    """The first string field of `raw` (wire data of a `message`) that is not UTF-8, or None.

    The data is parsed as unknown fields of an empty message, which skips UTF-8 checks, and
    walked with the message's descriptor: `texts[1]`, `video.uri`."""
    try:
        wire_fields = UnknownFieldSet(empty_pb2.Empty.FromString(raw))
    except DecodeError:
        return UndecodableRequest(prefix.rstrip(".") or "request", "malformed protobuf data")
    seen: dict[int, int] = {}
    for wire_field in wire_fields:
        field = message.fields_by_number.get(wire_field.field_number)
        if field is None or wire_field.wire_type != _LENGTH_DELIMITED:
            continue
        name = prefix + field.name
        if field.is_repeated:
            name += f"[{seen.get(field.number, 0)}]"
            seen[field.number] = seen.get(field.number, 0) + 1
        if field.type == FieldDescriptor.TYPE_STRING:
            try:
                wire_field.data.decode("utf-8")
            except UnicodeDecodeError as error:
                return UndecodableRequest(name, f"not valid UTF-8 at byte {error.start} (string fields must be UTF-8; binary data goes in bytes fields)")
        elif field.type == FieldDescriptor.TYPE_MESSAGE:
            found = find_undecodable_field(wire_field.data, field.message_type, name + ".")
            if found is not None:
                return found
    return None


def _tolerant(deserializer: Callable[[bytes], Any], message: Descriptor) -> Callable[[bytes], Any]:
    def deserialize(raw: bytes) -> Any:
        try:
            return deserializer(raw)
        except DecodeError as error:
            return find_undecodable_field(raw, message) or UndecodableRequest("request", f"not a valid {message.full_name} ({error})")

    return deserialize


async def _abort_if_undecodable(request: Any, context: grpc.aio.ServicerContext) -> Any:
    if isinstance(request, UndecodableRequest):
        await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(request))
    return request


async def _checked_stream(requests: AsyncIterator[Any], context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
    async for request in requests:
        yield await _abort_if_undecodable(request, context)


def _checked(behavior: Callable[..., Any], request_streaming: bool) -> Callable[..., Any]:
    """`behavior` behind the check, keeping its kind (coroutine or async generator) for grpc."""

    async def admitted(request: Any, context: grpc.aio.ServicerContext) -> Any:
        if request_streaming:
            return _checked_stream(request, context)
        return await _abort_if_undecodable(request, context)

    if inspect.isasyncgenfunction(behavior):

        async def streaming(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
            async for response in behavior(await admitted(request, context), context):
                yield response

        return streaming

    async def single(request: Any, context: grpc.aio.ServicerContext) -> Any:
        return await behavior(await admitted(request, context), context)

    return single


class RequestDecodingInterceptor(grpc.aio.ServerInterceptor):
    """Every method whose request type is in the default descriptor pool gets the tolerant
    deserializer and the check."""

    async def intercept_service(
        self, continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]], details: grpc.HandlerCallDetails
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(details)
        if handler is None or handler.request_deserializer is None:
            return handler
        try:
            message = descriptor_pool.Default().FindMethodByName(details.method.strip("/").replace("/", ".")).input_type
        except KeyError:
            return handler
        return replace_behavior(
            handler,
            lambda behavior: _checked(behavior, handler.request_streaming),
            request_deserializer=_tolerant(handler.request_deserializer, message),
        )

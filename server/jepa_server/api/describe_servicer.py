"""jepa.v1.DescribeService: Describe (a whole video) and DescribeStream (a live feed of frames)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc

from jepa_client.v1 import describe_pb2, describe_pb2_grpc
from jepa_server.api import convert
from jepa_server.api.guard import RpcGuard, time_remaining
from jepa_server.core.describe import CaptionEvent, DescribeOptions, Describer, Mode
from jepa_server.core.embedding import SamplingRequest
from jepa_server.core.sources import RawFrames
from jepa_server.errors import InvalidInput
from jepa_server.settings import Settings


def describe_options(options: describe_pb2.DescribeOptions, default_threshold: float) -> DescribeOptions:
    segmentation = {describe_pb2.SEGMENTATION_ONLINE: True, describe_pb2.SEGMENTATION_OFFLINE: False}.get(options.segmentation)
    return DescribeOptions(
        mode=Mode.UNIFORM if options.mode == describe_pb2.DECODING_MODE_UNIFORM else Mode.SELECTIVE,
        online=segmentation,
        threshold=options.threshold or default_threshold,
        min_segment_windows=options.min_segment_windows,
        max_caption_tokens=options.max_caption_tokens,
        model=options.model,
    )


def caption_message(event: CaptionEvent) -> describe_pb2.Caption:
    return describe_pb2.Caption(
        start_seconds=event.start_seconds,
        end_seconds=event.end_seconds,
        text=event.text,
        confidence=event.confidence,
        segment_embedding=convert.embedding(event.embedding),
        first_window=event.first_window,
        last_window=event.last_window,
        decoder_steps=event.decoder_steps,
    )


def build_describe_servicer(describer: Describer, guard: RpcGuard, settings: Settings) -> describe_pb2_grpc.DescribeServiceServicer:
    class DescribeServicer(describe_pb2_grpc.DescribeServiceServicer):
        @guard.stream("Describe")
        async def Describe(self, request: describe_pb2.DescribeRequest, context: grpc.aio.ServicerContext) -> AsyncIterator[describe_pb2.Caption]:
            describer.embedder.metrics.received_bytes.labels("Describe").inc(request.ByteSize())
            events = describer.describe_video(
                convert.video_source(request.video),
                convert.sampling_request(request.video.sampling),
                describe_options(request.options, settings.describe_threshold),
                time_remaining(context),
            )
            async for event in events:
                yield caption_message(event)

        @guard.stream("DescribeStream")
        async def DescribeStream(self, request_iterator: AsyncIterator[describe_pb2.DescribeChunk], context: grpc.aio.ServicerContext) -> AsyncIterator[describe_pb2.Caption]:
            first = await anext(aiter(request_iterator), None)
            if first is None:
                raise InvalidInput("chunks", "the stream carried no message")
            options = describe_options(first.options, settings.describe_threshold)

            async def frames() -> AsyncIterator[RawFrames]:
                async for chunk in convert.prepend(first, request_iterator):
                    describer.embedder.metrics.received_bytes.labels("DescribeStream").inc(chunk.ByteSize())
                    if chunk.frames.num_frames:
                        yield convert.raw_frames(chunk.frames)

            sampling = SamplingRequest(frames_per_clip=first.sampling.frames_per_clip)
            async for event in describer.describe_stream(frames(), sampling, options.model_copy(update={"online": True}), time_remaining(context)):
                yield caption_message(event)

    return DescribeServicer()


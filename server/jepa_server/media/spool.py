"""Receive an encoded video in pieces into a temporary file, bounded by a total size.

Uploads larger than one gRPC message (EmbedVideoStream) go to disk, not memory: the decoder
reads the file, and the file is removed when the call ends, whatever the outcome.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import AsyncIterable, AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from jepa_server.errors import InvalidInput, LimitExceeded
from jepa_server.media.video import SpooledVideo


@asynccontextmanager
async def spooled_upload(pieces: AsyncIterable[bytes], max_bytes: int, directory: Path | None = None, field: str = "video.encoded") -> AsyncIterator[SpooledVideo]:
    """Write `pieces` in order to a private temporary file; more than `max_bytes` in all is refused
    as soon as it arrives."""
    descriptor, name = tempfile.mkstemp(prefix="jepa-upload-", suffix=".video", dir=directory)
    path = Path(name)
    try:
        with os.fdopen(descriptor, "wb") as file:
            received = 0
            async for piece in pieces:
                received += len(piece)
                if received > max_bytes:
                    raise LimitExceeded(field, f"the upload exceeds the limit of {max_bytes} bytes (max_upload_bytes)")
                await asyncio.to_thread(file.write, piece)
        if received == 0:
            raise InvalidInput(field, "empty video")
        yield SpooledVideo(path=path)
    finally:
        path.unlink(missing_ok=True)

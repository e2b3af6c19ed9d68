"""`make run`: start the local Triton and the gateway on an exported repository, embed a generated
video and two sentences through the client SDK, print the results, and shut everything down."""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from pathlib import Path

import av
import numpy as np

from jepa_client import AsyncClient
from jepa_server.app import Gateway
from jepa_server.settings import Settings
from jepa_server.triton_local import LocalTriton, LocalTritonOptions


def write_sample_video(path: Path, seconds: int = 4, fps: int = 8) -> Path:
    """A ball bouncing across a gradient, h264 in mp4."""
    height, width = 180, 320
    gradient = np.linspace(40, 200, width, dtype=np.uint8)[None, :, None].repeat(height, 0).repeat(3, 2)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("h264", rate=fps)
        stream.height, stream.width, stream.pix_fmt = height, width, "yuv420p"
        for index in range(seconds * fps):
            image = gradient.copy()
            x, y = 20 + index * 9 % (width - 40), 90 + int(50 * np.sin(index / 3))
            image[y - 15 : y + 15, x - 15 : x + 15] = (230, 40, 40)
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


async def run_demo(repository: Path) -> None:
    with LocalTriton(LocalTritonOptions(repository=repository)) as triton, tempfile.TemporaryDirectory() as scratch:
        print(f"triton   ready on {triton.grpc_url} (metrics {triton.metrics_url})")
        gateway = Gateway(Settings(port=0, metrics_port=0, triton_url=triton.grpc_url, model_repository=repository))
        await gateway.start()
        try:
            await asyncio.wait_for(gateway.ready.wait(), 120)
            print(f"gateway  ready on 127.0.0.1:{gateway.port} (metrics http://127.0.0.1:{gateway.metrics_port}/metrics)")
            async with AsyncClient(f"127.0.0.1:{gateway.port}") as client:
                video = write_sample_video(Path(scratch) / "sample.mp4")
                result = await client.embed_video(video, return_windows=True)
                print(f"\nvideo    {video.name}: {result.frames_decoded} frames, {result.num_windows} windows, {result.duration_seconds:.1f} s")
                print(f"         model {result.model.name} v{result.model.version}, {result.model.dimension}-d, space {result.model.embedding_space}")
                print(f"         embedding[:6] = {np.array2string(result.embedding[:6], precision=4)}")
                sentences = ["a red ball bounces across the screen", "a slow piano melody in a quiet room"]
                texts = await client.embed_text(sentences)
                print(f"\ntext     model {texts.model.name}, {texts.model.dimension}-d")
                for sentence, vector in zip(sentences, texts.embeddings):
                    print(f"         {sentence!r}: [:4] = {np.array2string(vector[:4], precision=4)}")
                print(f"         cosine of the two sentences: {float(texts.embeddings[0] @ texts.embeddings[1]):.4f}")
        finally:
            await gateway.stop(2.0)
    print("\nstopped gateway and Triton")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repository", type=Path, default=Path("artifacts/repository/cpu"))
    asyncio.run(run_demo(parser.parse_args().repository))


if __name__ == "__main__":
    main()

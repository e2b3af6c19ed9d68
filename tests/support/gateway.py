"""Run a real gateway (grpc.aio on a real port) on its own thread and event loop, so that sync
and async clients can both call it from tests."""

from __future__ import annotations

import asyncio
import threading
import urllib.request

from jepa_server.app import Gateway
from jepa_server.settings import Settings


class GatewayThread:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.loop = asyncio.new_event_loop()
        self.gateway = Gateway(settings)
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True, name="gateway")

    def start(self, ready_timeout_s: float | None = 120.0) -> GatewayThread:
        """Start serving and wait until ready (every model warmed up); None: do not wait."""
        self._thread.start()
        self.run(self.gateway.start())
        if ready_timeout_s is not None:
            self.run(asyncio.wait_for(self.gateway.ready.wait(), ready_timeout_s))
        return self

    def run(self, coroutine, timeout: float | None = None):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.gateway.port}"

    @property
    def http_url(self) -> str:
        scheme = "https" if self.settings.tls_cert_file else "http"
        return f"{scheme}://127.0.0.1:{self.gateway.http_port}"

    def metrics_text(self) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.gateway.metrics_port}/metrics", timeout=5) as response:
            return response.read().decode()

    def stop(self) -> None:
        """Stop serving and end the loop's thread (again: nothing)."""
        if not self._thread.is_alive():
            return
        self.run(self.gateway.stop(1.0), timeout=30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)

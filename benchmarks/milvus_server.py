"""A real Milvus server for the tests and the search study: the `milvus` package on PyPI bundles
Milvus 2.3.5 standalone (its own etcd, local object storage and the same coordinators, query and
data nodes as cluster mode), up in about 9 s. Each gateway gets a database of its own
(`<uri>/<database>`), so tests do not see each other's collections."""

from __future__ import annotations

import fcntl
import itertools
import os
import tempfile
import time
from pathlib import Path
from typing import TextIO

from milvus import MilvusServer
from pymilvus import MilvusClient

MILVUS_SERVER_VERSION = "2.3.5"
_databases = itertools.count()
_MACHINE_LOCK = Path(tempfile.gettempdir()) / "jepa-milvus-standalone.lock"


class MilvusStandalone:
    """Start, stop and restart one Milvus standalone over the same data and port. Two on one
    machine collide (the embedded etcd's peer port, 2380, is fixed), so each holds a machine-wide
    lock from its first start to its last stop: a second one waits for the first."""

    def __init__(self, base_dir: Path) -> None:
        self.base_dir = base_dir
        self._server = MilvusServer()
        self._server.set_base_dir(str(base_dir))
        self._port: int | None = None  # the first start takes the first free port from 19530
        self._machine_lock: TextIO | None = None

    @property
    def uri(self) -> str:
        assert self._port is not None, "start the server first"
        return f"http://127.0.0.1:{self._port}"

    def new_database_uri(self, prefix: str = "test") -> str:
        """The URI of a database no gateway used yet (the gateway creates it on first use)."""
        return f"{self.uri}/{prefix}_{os.getpid()}_{next(_databases)}"

    def __enter__(self) -> MilvusStandalone:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _hold_machine(self, timeout_s: float) -> None:
        lock = open(_MACHINE_LOCK, "w")  # noqa: SIM115 - held until close()
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"another Milvus standalone held {_MACHINE_LOCK} for {timeout_s:g} s") from None
                time.sleep(1.0)
        self._machine_lock = lock

    def close(self) -> None:
        """Stop, and let another standalone start on this machine."""
        self.stop()
        if self._machine_lock is not None:
            self._machine_lock.close()
            self._machine_lock = None

    def start(self, timeout_s: float = 120.0, wait_for_machine_s: float = 3600.0) -> MilvusStandalone:
        if self._machine_lock is None:
            self._hold_machine(wait_for_machine_s)
        if self._port is not None:
            self._server.listen_port = self._port  # a restart answers where its clients already look
        self._server.start()
        self._port = self._server.listen_port
        deadline = time.monotonic() + timeout_s
        while True:  # the proxy port opens before the coordinators are ready
            try:
                client = MilvusClient(self.uri, timeout=5)
                client.list_collections(timeout=5)
                client.close()
                return self
            except Exception as error:  # noqa: BLE001 - not answering yet
                if time.monotonic() > deadline:
                    raise TimeoutError(f"Milvus {MILVUS_SERVER_VERSION} at {self.uri} did not answer in {timeout_s:g} s") from error
                time.sleep(0.3)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after a second (the package's own stop)."""
        self._server.stop()

"""Which collection takes the calls that name no model: the one a Milvus alias points at. The alias
lives in Milvus, so every gateway of an index follows one switch; each re-reads it once its last
reading is `ttl_s` old, which bounds how long a gateway keeps using the collection of before."""

from __future__ import annotations

import asyncio
import logging
import math
import time

from jepa_server.errors import BackendUnavailable
from jepa_server.index.milvus import MilvusIndex

log = logging.getLogger("jepa_server.serving")


class ServingAlias:
    """The serving alias (`alias`) and the one that keeps the collection a rollback returns to
    (`<alias>_previous`)."""

    def __init__(self, index: MilvusIndex, alias: str, ttl_s: float) -> None:
        self.index = index
        self.alias = alias
        self.previous_alias = f"{alias}_previous"
        self.ttl_s = ttl_s
        self._collection: str | None = None
        self._read_at = -math.inf
        self._reading = asyncio.Lock()

    def _fresh(self) -> bool:
        return time.monotonic() - self._read_at < self.ttl_s

    async def collection(self) -> str | None:
        """The serving collection (None: never switched). When a re-read fails the last answer
        stands: the call that needs the index then fails, or not, on its own."""
        if self._fresh():
            return self._collection
        async with self._reading:
            if not self._fresh():
                try:
                    self._collection = await self.index.resolve_alias(self.alias)
                except BackendUnavailable:
                    if self._read_at == -math.inf:
                        raise
                    log.warning("cannot re-read alias %s; still serving %s", self.alias, self._collection)
                self._read_at = time.monotonic()
        return self._collection

    async def previous(self) -> str | None:
        """The collection a rollback returns to (None: never switched, or dropped)."""
        return await self.index.resolve_alias(self.previous_alias)

    async def point(self, collection: str, previous: str | None) -> None:
        """Switch: keep `previous` for a rollback, then point the serving alias at `collection`,
        the one step every gateway sees at once. This gateway follows at once."""
        if previous is None:
            await self.index.drop_alias(self.previous_alias)
        else:
            await self.index.point_alias(self.previous_alias, previous)
        await self.index.point_alias(self.alias, collection)
        self._collection, self._read_at = collection, time.monotonic()

    async def forget_previous(self) -> None:
        await self.index.drop_alias(self.previous_alias)

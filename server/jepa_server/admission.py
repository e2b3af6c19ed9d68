"""The one limit on calls in flight, shared by every front end (gRPC and HTTP count together)."""

from __future__ import annotations


class Admission:
    """Refuses a call at once when `limit` calls are already in flight: an unbounded queue only
    turns overload into timeouts. Front ends answer a refusal with their "retry later" code."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.active = 0

    @property
    def refusal(self) -> str:
        return f"max_concurrent_requests: the server is already serving {self.limit} calls; retry later"

    def try_enter(self) -> bool:
        if self.active >= self.limit:
            return False
        self.active += 1
        return True

    def leave(self) -> None:
        self.active -= 1

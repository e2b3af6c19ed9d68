"""Retries with exponential backoff and jitter, and the deadline that bounds them.

Why not gRPC's own retries (service config `retryPolicy`): they stop retrying once a request
outgrows the per-call retry buffer (256 KiB by default), which every encoded video does, and they
clamp attempts to 5. This loop resends the request it still holds, whatever its size.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass

import grpc

# Only these codes mean "the request was not processed; the same request may succeed later".
RETRYABLE_CODES = frozenset({grpc.StatusCode.UNAVAILABLE})


@dataclass(frozen=True)
class RetryPolicy:
    """How idempotent calls are retried after UNAVAILABLE (server restarting, backend not ready).

    The wait before retry n (0-based) is uniform in [c/2, c] with c = min(max_backoff,
    initial_backoff * multiplier**n) ("equal jitter"): clients that failed together do not return
    together, and none comes back at once to a server that is restarting. `max_retries=0`: no retries.
    """

    max_retries: int = 3
    initial_backoff: float = 0.2
    max_backoff: float = 5.0
    multiplier: float = 2.0

    def __post_init__(self) -> None:
        if self.max_retries < 0:
            raise ValueError(f"max_retries: got {self.max_retries}, need >= 0")
        if self.initial_backoff < 0:
            raise ValueError(f"initial_backoff: got {self.initial_backoff}, need >= 0")
        if self.max_backoff < self.initial_backoff:
            raise ValueError(f"max_backoff: got {self.max_backoff}, need >= initial_backoff ({self.initial_backoff})")
        if self.multiplier < 1:
            raise ValueError(f"multiplier: got {self.multiplier}, need >= 1")

    def backoff_ceiling(self, retry: int) -> float:
        """The longest wait before retry `retry` (0-based)."""
        return min(self.max_backoff, self.initial_backoff * self.multiplier**retry)


class Attempts:
    """Retry and deadline state of one logical call; the sync and async clients both loop over it."""

    def __init__(self, policy: RetryPolicy, *, idempotent: bool, timeout: float | None) -> None:
        self._policy = policy
        self._idempotent = idempotent
        self._deadline = None if timeout is None else time.monotonic() + timeout
        self.retries = 0

    def remaining(self) -> float | None:
        """Seconds left for the next attempt (None: no deadline); one deadline covers all attempts."""
        if self._deadline is None:
            return None
        return max(0.0, self._deadline - time.monotonic())

    def backoff_after(self, code: grpc.StatusCode) -> float | None:
        """Seconds to wait before retrying after a failure with `code`, or None to give up now."""
        if not self._idempotent or code not in RETRYABLE_CODES or self.retries >= self._policy.max_retries:
            return None
        ceiling = self._policy.backoff_ceiling(self.retries)
        delay = random.uniform(ceiling / 2, ceiling)
        remaining = self.remaining()
        if remaining is not None and delay >= remaining:
            return None
        self.retries += 1
        return delay

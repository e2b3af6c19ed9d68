"""What preprocessing refuses, with the field it concerns; each stage turns these into its own
errors (the gateway: domain errors that become status codes)."""

from __future__ import annotations


class MediaError(ValueError):
    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem

    def __reduce__(self):  # raised in decode worker processes and pickled back
        return (type(self), (self.field, self.problem))


class InvalidVideo(MediaError):
    """Not a usable video: not decodable, no frames, malformed raw frames."""


class VideoLimitExceeded(MediaError):
    """A usable video beyond a configured limit (frames, duration, resolution)."""

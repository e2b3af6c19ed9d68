"""What preprocessing refuses, with the field it concerns. `FieldError` is also the base of the
gateway's domain errors: one shape of error, "field: problem", on both sides."""

from __future__ import annotations


class FieldError(Exception):
    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem

    def __reduce__(self):  # raised in worker processes and pickled back
        return (type(self), (self.field, self.problem))


class InvalidVideo(FieldError):
    """Not a usable video: not decodable, no frames, malformed raw frames."""


class VideoLimitExceeded(FieldError):
    """A usable video beyond a configured limit (frames, duration, resolution)."""

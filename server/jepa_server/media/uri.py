"""Resolve a client-given video URI to a file under one of the server's media roots."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlparse

from jepa_server.errors import InvalidInput, NotFound

MAX_URI_CHARS = 4096


def resolve_media_uri(uri: str, media_roots: list[Path], field: str = "video.uri") -> Path:
    """Accept `path` or `file:///path`; the real path (symlinks followed) must stay inside a root."""
    if not media_roots:
        raise InvalidInput(field, "URIs are disabled on this server (no media roots configured)")
    if not uri:
        raise InvalidInput(field, "empty URI")
    if len(uri) > MAX_URI_CHARS:
        raise InvalidInput(field, f"{len(uri)} characters, at most {MAX_URI_CHARS}")
    if "\x00" in uri:
        raise InvalidInput(field, "contains a NUL byte")
    parsed = urlparse(uri)
    if parsed.scheme not in ("", "file"):
        raise InvalidInput(field, f"scheme {parsed.scheme!r} is not allowed; use a path under a media root")
    if parsed.scheme == "file" and parsed.netloc not in ("", "localhost"):
        raise InvalidInput(field, f"remote host {parsed.netloc!r} is not allowed")
    raw_path = Path(unquote(parsed.path) if parsed.scheme == "file" else uri)
    roots = [root.resolve() for root in media_roots]
    candidates = [raw_path] if raw_path.is_absolute() else [root / raw_path for root in roots]
    for candidate in candidates:
        try:
            resolved = candidate.resolve()
            inside = any(resolved.is_relative_to(root) for root in roots)
            if inside and not resolved.is_file():
                raise NotFound(field, f"{uri!r} does not exist under the media roots")
        except (OSError, RuntimeError) as error:  # a symlink loop, a name too long for the file system
            raise InvalidInput(field, f"{uri!r} cannot be resolved ({type(error).__name__})") from error
        if inside:
            return resolved
    raise InvalidInput(field, f"{uri!r} is outside the allowed media roots")

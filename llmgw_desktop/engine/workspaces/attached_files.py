"""A file an editor attached to a prompt by link (ACP's `resource_link`), read only inside the
folder the caller is granted, and never larger than the cap.

An editor names a file by URI and the gateway reads it for the model. The caller chose the
URI, so it is an attack surface like any path a caller gives: the link is resolved (symlinks
and `..` followed) before it is compared with the folder, the file is opened without following
a final symlink swapped in after the check, and, where the system says which file a descriptor
holds (Linux's `/proc/self/fd`), that file is checked again. The size is checked on the open
file and the read stops one byte past the cap, so a file growing meanwhile is still refused.
"""

from __future__ import annotations

import mimetypes
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

from llmgw_desktop.engine.errors import ErrorCode, InvalidRequest

__all__ = ["AttachedFile", "read_attached", "refuse_too_large"]

_PROC_FD = Path("/proc/self/fd")


@dataclass(frozen=True)
class AttachedFile:
    """A file read for a prompt: where it really is, its bytes and its media type."""

    path: Path
    data: bytes
    mime: str

    def text(self) -> str | None:
        """Its contents as text, or None when they are not UTF-8 (an image, a PDF ...)."""
        try:
            return self.data.decode("utf-8")
        except UnicodeDecodeError:
            return None


def read_attached(uri: str, folder: Path, max_bytes: int) -> AttachedFile:
    """The file `uri` (a `file:` URI or an absolute path) names, if it lies inside `folder`.

    Raises:
        InvalidRequest: not a local file (`invalid_request`), outside `folder` once links are
            followed (`attachment_outside_folder`), missing or not a regular file
            (`invalid_request`), or larger than `max_bytes` (`attachment_too_large`).
    """
    named = _path_of(uri)
    root = folder.resolve()
    try:
        target = named.resolve(strict=True)
    except (OSError, RuntimeError) as exc:
        raise InvalidRequest(
            f"the attached file {uri!r} cannot be read: {_why(exc)}", param="prompt"
        ) from None
    _inside(target, root, uri)
    # Not following a last link swapped in since the check; not waiting on a FIFO's writer.
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(target, flags)
    except OSError as exc:
        raise InvalidRequest(
            f"the attached file {uri!r} cannot be read: {_why(exc)}", param="prompt"
        ) from None
    try:
        _still_inside(fd, root, uri)
        status = os.fstat(fd)
        if not stat.S_ISREG(status.st_mode):
            raise InvalidRequest(f"the attached file {uri!r} is not a regular file", param="prompt")
        if status.st_size > max_bytes:
            raise refuse_too_large(uri, status.st_size, max_bytes)
        with os.fdopen(os.dup(fd), "rb") as opened:
            data = opened.read(max_bytes + 1)
    finally:
        os.close(fd)
    if len(data) > max_bytes:
        raise refuse_too_large(uri, len(data), max_bytes)
    mime = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
    return AttachedFile(target, data, mime)


def refuse_too_large(what: str, size: int, max_bytes: int) -> InvalidRequest:
    """The refusal of an attachment of `size` bytes past the cap."""
    return InvalidRequest(
        f"the attached {what!r} is {size} bytes, more than the {max_bytes} an attachment may "
        "be (providers.max_attached_bytes)",
        code=ErrorCode.ATTACHMENT_TOO_LARGE,
        param="prompt",
    )


def _path_of(uri: str) -> Path:
    """The local path a `file:` URI (or an absolute path) names.

    Raises:
        InvalidRequest: another scheme, a remote host, or a relative path.
    """
    parsed = urlparse(uri)
    if parsed.scheme == "file":
        if parsed.netloc not in ("", "localhost"):
            raise InvalidRequest(
                f"the attached file {uri!r} is on another host: only local files are read",
                param="prompt",
            )
        path = Path(unquote(parsed.path))
    elif parsed.scheme == "" or (len(parsed.scheme) == 1 and os.name == "nt"):
        path = Path(uri)  # a bare path (a drive letter parses as a one-letter scheme)
    else:
        raise InvalidRequest(
            f"the attached link {uri!r} is not a file: only file: links are read",
            param="prompt",
        )
    if not path.is_absolute():
        raise InvalidRequest(f"the attached file {uri!r} is not an absolute path", param="prompt")
    return path


def _inside(target: Path, root: Path, uri: str) -> None:
    if not target.is_relative_to(root):
        raise InvalidRequest(
            f"the attached file {uri!r} is outside the session's folder {str(root)!r} "
            "(links and '..' followed): only files inside it are read",
            code=ErrorCode.ATTACHMENT_OUTSIDE_FOLDER,
            param="prompt",
        )


def _still_inside(fd: int, root: Path, uri: str) -> None:
    """Where the system says which file `fd` holds, that file is inside `root` too (a folder
    on the way swapped for a link between the check and the open is caught here)."""
    try:
        held = (_PROC_FD / str(fd)).readlink()
    except OSError:
        return  # not Linux: the resolve-then-open check above is what there is
    _inside(held, root, uri)


def _why(exc: BaseException) -> str:
    if isinstance(exc, FileNotFoundError):
        return "no such file"
    if isinstance(exc, PermissionError):
        return "permission denied"
    if isinstance(exc, RuntimeError):
        return "a loop of symbolic links"
    return exc.strerror or str(exc) if isinstance(exc, OSError) else str(exc)

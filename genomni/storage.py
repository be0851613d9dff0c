"""Dataset locations: a local folder, or an fsspec URL (`s3://`, `gs://`, `memory://`, ...) for object storage.

`location` turns what a user typed into a path object: `pathlib.Path` for local folders (and `file://` URLs),
a `upath.UPath` (the same API over fsspec) otherwise, so readers work on both unchanged. Object stores
have no rename, so writes there are single PUTs of complete objects (an object is visible only once its
upload completes); local writes go to a temporary name and are renamed. A run writing to a URL keeps its
resume state (finished scenes) in a local staging folder (`staging_dir`); everything else is listed at
the URL.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from .errors import GenomniError


def location(loc: str | os.PathLike) -> Path:
    """A local Path, or a UPath for a URL with a scheme other than file:// (path objects are returned as they are)."""
    if isinstance(loc, Path) or hasattr(loc, "protocol"):
        return loc  # type: ignore[return-value]
    text = os.fspath(loc)
    if text.startswith("file://"):
        return Path(text[len("file://") :])
    if "://" not in text:
        return Path(text)
    try:
        from upath import UPath
    except ImportError as exc:
        raise GenomniError(f"{text}: URLs need universal-pathlib (pip install universal-pathlib)") from exc
    try:
        path = UPath(text)
        path.fs  # noqa: B018  (the filesystem is made lazily; a missing backend should fail here, in one line)
    except (ValueError, ImportError) as exc:
        raise GenomniError(f"{text}: no filesystem for this URL ({exc}); install its fsspec backend (s3fs, gcsfs, ...)") from exc
    return path


def is_remote(path: Path) -> bool:
    """True for a URL location (anything but the local filesystem)."""
    return getattr(path, "protocol", "") not in ("", "file", "local")


def staging_dir(url: Path) -> Path:
    """The local folder where a run writing to `url` keeps its resume state ($GENOMNI_STAGING or the temp dir)."""
    root = Path(os.environ.get("GENOMNI_STAGING") or tempfile.gettempdir()) / "genomni-staging"
    return root / hashlib.sha256(str(url).encode()).hexdigest()[:16]


def write_bytes(path: Path, data: bytes) -> None:
    """Write a complete file: temporary name + rename locally, one PUT at a URL."""
    from .media import atomic_write_bytes

    if is_remote(path):
        path.write_bytes(data)
    else:
        atomic_write_bytes(path, data)


def put_file(local: Path, dest: Path) -> None:
    """Move a finished local file to its final name at `dest` (a rename locally, one upload at a URL)."""
    if is_remote(dest):
        dest.fs.put_file(str(local), dest.path)
        local.unlink()
    else:
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(local, dest)

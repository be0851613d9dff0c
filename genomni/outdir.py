"""One writer per output folder, and worker processes that never outlive their parent."""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import functools
import inspect
import os
import shutil
import signal
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from .errors import GenomniError

LOCK = ".genomni"  # the folder genomni keeps its own state in (generators' resume state too); the lock file is inside
T = TypeVar("T")


@contextlib.contextmanager
def exclusive(out: str | os.PathLike, name: str = "lock") -> Iterator[Path]:
    """Hold an advisory lock on `out` for the duration: a second genomni process writing the same folder gets a
    one-line refusal instead of racing the first (the kernel drops the lock when its holder dies, even by kill -9).
    For a URL (object storage has no locks) the lock is held on the run's local staging folder. Writers that may
    share a folder (the partitions of one generator run) hold differently `name`d locks."""
    from .storage import is_remote, location, staging_dir

    out = location(out)
    out = staging_dir(out) if is_remote(out) else Path(out)
    created = not out.exists()
    (out / LOCK).mkdir(parents=True, exist_ok=True)
    fh = open(out / LOCK / name, "a+")  # never written: opening it changes nothing on disk
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        fh.close()
        raise GenomniError(f"{out} is being written by another genomni process; wait for it to finish or choose another --out") from None
    try:
        yield out
    except BaseException:
        if created and [p.name for p in out.iterdir()] == [LOCK] and [p.name for p in (out / LOCK).iterdir()] == [name]:
            shutil.rmtree(out)  # a run that failed before writing anything leaves no folder behind
        raise
    finally:
        fh.close()


def locks(where: str) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """Decorate a function that writes a folder: it runs holding `exclusive` on the folder named by its argument
    `where` ("out_dir", or an attribute path such as "cfg.out")."""
    name, *attrs = where.split(".")

    def decorate(fn: Callable[..., T]) -> Callable[..., T]:
        sig = inspect.signature(fn)

        @functools.wraps(fn)
        def locked(*args: Any, **kwargs: Any) -> T:
            out = sig.bind(*args, **kwargs).arguments[name]
            for a in attrs:
                out = getattr(out, a)
            with exclusive(out):
                return fn(*args, **kwargs)

        return locked

    return decorate


def die_with_parent() -> None:
    """Process-pool initializer: on Linux, ask the kernel to kill this worker when its parent dies (a kill -9 of
    the main process would otherwise leave render workers running for minutes)."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        if os.getppid() == 1:  # the parent died before the call
            os._exit(1)


def check_replaceable(path: Path, ours: frozenset[str], flag: str = "--out") -> None:
    """A folder a writer is about to replace may hold only entries that writer makes (`ours`); anything else is
    someone's own file, which genomni never deletes: a one-line refusal before the folder is touched."""
    if not path.exists():
        return
    if not path.is_dir():
        raise GenomniError(f"{path} is a file where genomni writes a folder; choose another {flag} (nothing was changed)")
    foreign = sorted(p.name for p in path.iterdir() if p.name not in ours)
    if foreign:
        raise GenomniError(
            f"{path} holds {', '.join(foreign[:3])}{' ...' if len(foreign) > 3 else ''}, which genomni did not write there; "
            f"move it or choose another {flag} (nothing was changed)"
        )

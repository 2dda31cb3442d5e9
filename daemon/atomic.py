"""Write a file so that nobody ever sees it half-written: a temp file in the same folder, then rename."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path


def _temp_beside(path: Path, data: bytes, mode: int | None) -> str:
    """A complete temp file with `data` in path's folder (created 0600 by mkstemp, then `mode`)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        if mode is not None:
            os.chmod(tmp, mode)
    except BaseException:
        os.unlink(tmp)
        raise
    return tmp


def write_atomic(path: str | os.PathLike, data: bytes, mode: int | None = None) -> None:
    tmp = _temp_beside(Path(path), data, mode)
    try:
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def write_new_atomic(path: str | os.PathLike, data: bytes, mode: int | None = None) -> bool:
    """Create `path` whole with `data` unless it exists (then leave it, return False): no reader ever sees it
    half-written, and of two processes creating it at once one wins and both then read the winner's bytes."""
    path = Path(path)
    if path.exists():
        return False
    tmp = _temp_beside(path, data, mode)
    try:
        os.link(tmp, path)                 # unlike rename, link never replaces an existing file
        return True
    except FileExistsError:
        return False
    finally:
        os.unlink(tmp)

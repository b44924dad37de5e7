"""The data folder is its owner's alone: the folder 0700, every file in it 0600 from its
first byte (order store, simulator database, dev server history and log, secrets)."""

import os
from pathlib import Path


def private_folder(path: Path) -> Path:
    """Create `path` (0700), or make an existing one and its files private to its owner."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.chmod(0o700)
    for child in path.iterdir():
        if child.is_file() and not child.is_symlink():
            child.chmod(0o600)
    return path


def private_file(path: Path) -> Path:
    """Create an empty file 0600 (its folder 0700 when it is new); an existing one is left
    as it is. SQLite gives its journal files the database file's permissions."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass
    return path


def write_private_file(path: Path, content: bytes) -> None:
    """Write a new file that is 0600 from its first byte (refused if it exists)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(content)

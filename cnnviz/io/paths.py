"""File names as the user gave them: whether two names are one file, and how to name one in a message."""

from __future__ import annotations

import os


def same_file(a, b) -> bool:
    """Whether `a` and `b` lead to the same file: through ./ or .., an absolute path, a symlink or a hard
    link. A name that does not exist yet is compared by where it would be."""
    try:
        return os.path.samefile(a, b)
    except (OSError, ValueError):  # one does not exist (yet), or a name holds a NUL
        return os.path.realpath(os.fspath(a)) == os.path.realpath(os.fspath(b))


def shown_name(path) -> str:
    """The name to put in a message: the file's own name, else what was given (`.`, `/`, an empty name)."""
    text = os.fspath(path)
    return os.path.basename(text.rstrip("/")) or text or "'' (an empty name)"

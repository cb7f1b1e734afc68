"""Errors and warnings raised by the dataset readers."""

from __future__ import annotations


class DatasetError(ValueError):
    """A dataset cannot be loaded: unknown name, missing or incomplete folder,
    unsupported file format, or nothing readable left.

    The message always names the path that was tried and, for layout problems,
    the on-disk layout that was expected.
    """


class CorruptFileError(DatasetError):
    """One file is truncated or corrupt. Dataset loaders catch this, record the
    file in ``FrameSet.skipped`` and go on with the rest of the dataset."""

    def __init__(self, path, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class DatasetWarning(UserWarning):
    """Emitted when files were skipped while loading a dataset."""

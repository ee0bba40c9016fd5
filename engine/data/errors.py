"""The one error type of the data layer."""

from __future__ import annotations


class DataError(Exception):
    """Data that cannot be read, downloaded or verified; the message says which file, what is
    wrong and what to do about it (the CLI prints it, the UI shows it)."""

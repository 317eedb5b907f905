"""Argument types shared by the subcommands."""

from __future__ import annotations

import argparse

__all__ = ["nonnegative_int", "positive_int"]


def _whole_number(text: str, least: int, expected: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text[:40]!r}") from None
    if value < least:
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
    return value


def positive_int(text: str) -> int:
    """An ``argparse`` type: a whole number >= 1. O(len(text)).

    >>> positive_int("3")
    3
    >>> positive_int("0")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: expected a positive integer, got '0'
    """
    return _whole_number(text, 1, "a positive integer")


def nonnegative_int(text: str) -> int:
    """An ``argparse`` type: a whole number >= 0. O(len(text)).

    >>> nonnegative_int("0")
    0
    >>> nonnegative_int("-5")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: expected a whole number >= 0, got '-5'
    """
    return _whole_number(text, 0, "a whole number >= 0")

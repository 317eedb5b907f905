"""Values quoted in error messages: never raising, never flooding.

A hostile argument must not replace the real error by another one while its message
is built: ``repr`` of an int of 5,000 digits raises ``ValueError``, of a structure
nested 100,000 deep ``RecursionError``, and a million-item list makes a message of
megabytes.
"""

from __future__ import annotations

__all__ = ["short"]


def short(value: object, limit: int = 60) -> str:
    """``repr(value)`` for an error message: at most ``limit`` characters, never raising.

    O(limit) for the containers and ints it summarises, else that of ``repr``.

    >>> short("10.0.0.0/24"), short(10**5000), short(list(range(100)))
    ("'10.0.0.0/24'", 'an int of 16610 bits', 'a list of 100 items')
    """
    if isinstance(value, int) and value.bit_length() > 64:
        return f"an int of {value.bit_length()} bits"
    if isinstance(value, (list, tuple, dict, set, frozenset)) and len(value) > 8:
        return f"a {type(value).__name__} of {len(value)} items"
    try:
        text = repr(value)
    except Exception:  # a hostile or too deep __repr__ must not replace the real error
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else f"{text[: limit - 3]}..."

"""Text from AWS, made safe for a terminal.

Tag values, descriptions and names come from whoever could write them in the account.
Printed raw, an escape sequence in a tag value would be *interpreted* by the terminal
(recolour, move the cursor, retitle the window, hide the lines around it). The human
renderers pass such text through :func:`safe`, which shows every control and format
character as a visible escape; ``--json`` output needs nothing (``json.dumps`` escapes).
"""

from __future__ import annotations

__all__ = ["safe"]

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def safe(text: object) -> str:
    """``str(text)`` with control and format characters shown escaped, never interpreted.

    Escapes C0/C1 controls and DEL (``\\x1b`` for ESC, ``\\n`` for a newline), and the
    other characters Python does not call printable (line and paragraph separators,
    bidirectional overrides, zero-width and non-ASCII space characters). Everything else, letters
    of any script included, stays as it is. O(len(text)); O(1) extra when nothing needs it.

    >>> safe("web \\x1b[31mred\\x1b[0m\\n")
    'web \\\\x1b[31mred\\\\x1b[0m\\\\n'
    >>> safe("subnet-1 (prod, Zürich)")
    'subnet-1 (prod, Zürich)'
    >>> safe("a\\u202eb")
    'a\\\\u202eb'
    """
    s = str(text)
    if s.isprintable():
        return s
    return "".join(ch if ch.isprintable() else _escape(ch) for ch in s)


def _escape(ch: str) -> str:
    named = _NAMED.get(ch)
    if named is not None:
        return named
    code = ord(ch)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"

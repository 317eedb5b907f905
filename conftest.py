"""pytest set-up for the whole checkout: without the compiled core (no C compiler at
install time) the doctests of its wrapper modules cannot be collected, so they are skipped;
``tests/test_core_compiled.py`` and ``tests/test_core_csparse.py`` skip themselves in that
case."""

from __future__ import annotations

import importlib.util

collect_ignore: list[str] = []
if importlib.util.find_spec("ipfrag.core._ctree") is None:
    collect_ignore.append("ipfrag/core/cbitmap.py")
if importlib.util.find_spec("ipfrag.core._csparse") is None:
    collect_ignore.append("ipfrag/core/csparse.py")

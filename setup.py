"""Build the optional compiled count trees (``ipfrag.core._ctree``, dense, and
``ipfrag.core._csparse``, sparse) and the snapshot loader's scan (``ipfrag.aws._cscan``);
metadata is in pyproject.toml.

``optional=True``: without a C compiler the build goes on and ipfrag runs on its pure-Python
core (``ipfrag.core.IMPLEMENTATION == "python"``, ``ipfrag.core.SPARSE_IMPLEMENTATION ==
"python"``) and loads snapshots through msgspec alone.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "ipfrag.core._ctree",
            ["ipfrag/core/_ctree.c"],
            optional=True,
            extra_compile_args=["-O2"],
        ),
        Extension(
            "ipfrag.core._csparse",
            ["ipfrag/core/_csparse.c"],
            optional=True,
            extra_compile_args=["-O2"],
        ),
        Extension(
            "ipfrag.aws._cscan",
            ["ipfrag/aws/_cscan.c"],
            optional=True,
            extra_compile_args=["-O2"],
        ),
    ]
)

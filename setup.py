"""Build the optional compiled count tree (``ipfrag.core._ctree``); metadata is in pyproject.toml.

``optional=True``: without a C compiler the build goes on and ipfrag runs on its pure-Python
core (``ipfrag.core.IMPLEMENTATION == "python"``).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "ipfrag.core._ctree",
            ["ipfrag/core/_ctree.c"],
            optional=True,
            extra_compile_args=["-O2"],
        )
    ]
)

"""Builds the one C extension (core/_md5lanes.c: multi-buffer MD5); everything else is in pyproject.toml.

optional=True: without a compiler the install still works and md5lanes falls back to hashlib;
tests/unit/test_md5lanes.py::test_native_kernel_built_on_this_machine fails on an x86-64 AVX2
machine where that happened, so CI cannot pass on the fallback by accident.
"""

import sys

from setuptools import Extension, setup

# No -mavx* here: the kernels carry per-function target attributes and dispatch at run time.
flags = [] if sys.platform == "win32" else ["-O3", "-std=c11"]
setup(ext_modules=[Extension("s3ferry.core._md5lanes", ["src/s3ferry/core/_md5lanes.c"],
                             extra_compile_args=flags, optional=True)])

"""Builds the Python package swd (docs/PYTHON.md) with pip:

    python3 -m pip install --no-build-isolation ./python

The extension swd._ext is python/swd_ext.cpp with swd's optimizers (src/optim/*.cpp), compiled
by torch's own extension builder (torch.utils.cpp_extension) against the torch that runs pip,
with the system's C++ compiler: nothing is downloaded and CMake is not needed. The package
works with that torch only (the extension links its LibTorch). `pip uninstall swd` removes it.
"""
import os
import re

from setuptools import setup
from torch.utils.cpp_extension import BuildExtension, CppExtension

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)  # the repository: include/ and src/optim/


def version():
    with open(os.path.join(HERE, "swd", "__init__.py")) as f:
        return re.search(r'^__version__ = "([^"]+)"', f.read(), re.M).group(1)


def optimizer_sources():
    """The sources of the swd_optim library, as src/CMakeLists.txt lists them (one list)."""
    try:
        with open(os.path.join(ROOT, "src", "CMakeLists.txt")) as f:
            block = re.search(r"add_library\(swd_optim OBJECT\n(.*?)\)", f.read(), re.S)
    except OSError:
        return []
    return [os.path.join(ROOT, "src", line.strip()) for line in block.group(1).splitlines()
            if line.strip().endswith(".cpp")] if block else []


sources = [os.path.join(HERE, "swd_ext.cpp")] + optimizer_sources()
if len(sources) == 1:
    raise SystemExit(f"swd: no swd_optim sources listed in {ROOT}/src/CMakeLists.txt: build from a checkout of "
                     "the repository (python/ needs ../src and ../include)")

setup(
    name="swd",
    version=version(),
    description="Stable weight decay (Xie, Sato, Sugiyama, arXiv 2011.11152) as torch.optim "
                "optimizers, with fused CPU steps",
    packages=["swd"],
    python_requires=">=3.8",
    ext_modules=[CppExtension(
        "swd._ext", sources, include_dirs=[os.path.join(ROOT, "include")],
        # as the CMake build (Release): C++17, optimised, no debug information
        extra_compile_args=["-std=c++17", "-O3", "-g0", "-DNDEBUG"])],
    cmdclass={"build_ext": BuildExtension},
    zip_safe=False,
)

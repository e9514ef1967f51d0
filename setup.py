# The build is declared in pyproject.toml; this file only lists the extensions.
#
# The model is compiled twice from one source.  pagecore.model._core is the build
# that is timed: race points and event counters compile to nothing.
# pagecore.model._core_instr defines PAGECORE_INSTRUMENT, so the same functions
# count every atomic, lock round trip, entry walked, wakeup and sleep, and can
# be paused or slowed at named race points.
from Cython.Build import cythonize
from setuptools import Extension, setup

CFLAGS = ["-O2", "-g0", "-std=gnu11", "-Wno-unused-function", "-Wno-unused-variable"]


def ext(name, instrument):
    macros = [("PAGECORE_INSTRUMENT", "1")] if instrument else []
    return Extension(
        "pagecore.model." + name,
        ["pagecore/model/%s.pyx" % name],
        include_dirs=["pagecore/model", "pagecore/kernel/include"],
        define_macros=macros,
        extra_compile_args=CFLAGS,
        libraries=["pthread"],
    )


setup(
    ext_modules=cythonize(
        [ext("_core", False), ext("_core_instr", True)],
        compiler_directives={"language_level": "3"},
        include_path=["pagecore/model"],
    ),
)

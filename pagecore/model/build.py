"""Compile a composed variant into a shared object, cached by content.

The key covers everything the object depends on: the composed text, the
compiler's flags and version, and every header of the model.  An object
built once is reused by every later run until one of those changes, and
concurrent builders of the same key are harmless: each writes its own
temporary file and the last rename wins with identical bytes.
"""

import functools
import hashlib
import os
import re
import shlex
import shutil
import subprocess
import tempfile

from pagecore import registry
from pagecore._errors import PagecoreError
from pagecore.model.compose import compose

BASE_CFLAGS = ("-O2", "-g0", "-fPIC", "-shared", "-std=gnu11", "-fvisibility=hidden", "-Wall",
               "-Wno-unused-function", "-Wno-unused-variable",
               "-Wno-unused-but-set-variable", "-Werror=implicit-function-declaration",
               "-Werror=int-conversion", "-Werror=incompatible-pointer-types",
               "-Werror=return-type")

_DIAGNOSTIC = re.compile(
    r"^(?P<file>[^:\n]+):(?P<line>\d+):(?:(?P<col>\d+):)? (?:fatal )?error: (?P<msg>.*)$", re.M)
# Undefined symbols the sanitizer runtimes supply; any build with them set
# in PAGECORE_VARIANT_CFLAGS needs them and they are no mistake.
_RUNTIME_PREFIXES = ("__asan", "__ubsan", "__tsan", "__msan", "__lsan", "__sanitizer")


class VariantBuildError(PagecoreError):
    """The compiler refused a variant; the message is one line, FILE:LINE: what."""


def compiler():
    """The C compiler command, as a list ($CC may carry arguments of its own)."""
    return shlex.split(os.environ.get("CC", "cc")) or ["cc"]


@functools.lru_cache(maxsize=None)
def compiler_version(cc):
    """First line of `@cc --version`: a new compiler is a new cache key."""
    try:
        r = subprocess.run(list(cc) + ["--version"], capture_output=True, text=True,
                           env=_compiler_env())
    except OSError as e:
        raise VariantBuildError("no C compiler (set CC): %s: %s" % (cc[0], e.strerror or e)) \
            from None
    lines = (r.stdout or r.stderr).strip().splitlines()
    return lines[0] if lines else ""


def cflags(instrument, include_dir=None):
    """The flags a variant is compiled with, $PAGECORE_VARIANT_CFLAGS last so
    that a sanitizer build can add (or override) what it needs."""
    flags = list(BASE_CFLAGS) + ["-I", include_dir or registry.INCLUDE_DIR]
    if instrument:
        flags.append("-DPAGECORE_INSTRUMENT=1")
    return flags + shlex.split(os.environ.get("PAGECORE_VARIANT_CFLAGS", ""))


def cache_root(cache_dir=None):
    root = cache_dir or os.environ.get("PAGECORE_CACHE") or \
        os.path.join(os.path.expanduser("~"), ".cache", "pagecore")
    return os.path.join(root, "variants")


def _headers_digest(h, include_dir):
    for d, subdirs, files in sorted(os.walk(include_dir)):
        subdirs.sort()
        for fn in sorted(files):
            p = os.path.join(d, fn)
            h.update(os.path.relpath(p, include_dir).encode() + b"\0")
            with open(p, "rb") as f:
                h.update(f.read() + b"\0")


def cache_key(text, cc, flags, include_dir):
    h = hashlib.sha256()
    for part in (text, "\0".join(cc), "\0".join(flags), compiler_version(tuple(cc))):
        h.update(part.encode() + b"\0")
    _headers_digest(h, include_dir)
    return h.hexdigest()


def error_line(stderr):
    """The one line that says why a compile failed: the first error, as
    FILE:LINE: message (FILE is the variant's own, thanks to #line)."""
    m = _DIAGNOSTIC.search(stderr)
    if m:
        return "%s:%s: %s" % (m.group("file"), m.group("line"), m.group("msg").strip())
    return next((ln.strip() for ln in stderr.splitlines() if ln.strip()), "")


def _compiler_env():
    # A sanitizer runtime preloaded into the process under test is not meant
    # for the compiler it starts.
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    return env


def build(vs, *, instrument, variants=None, cache_dir=None, library_dir=None, include_dir=None):
    """Path of the shared object of @vs (timed, or instrumented when
    @instrument), compiled now unless the cache already holds it."""
    include_dir = include_dir or registry.INCLUDE_DIR
    composed = compose(vs, variants=variants, library_dir=library_dir, include_dir=include_dir)
    cc, flags = compiler(), cflags(instrument, include_dir)
    key = cache_key(composed.text, cc, flags, include_dir)
    root = cache_root(cache_dir)
    stem = os.path.join(root, "%s-%s-%s" % (vs.name, "i" if instrument else "t", key[:16]))
    if os.path.exists(stem + ".so"):
        return stem + ".so"
    os.makedirs(root, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".build-", dir=root)
    try:
        src, obj = os.path.join(tmp, key + ".c"), os.path.join(tmp, key + ".so")
        with open(src, "w", encoding="utf-8") as f:
            f.write(composed.text)
        try:
            r = subprocess.run(cc + flags + ["-o", obj, src], capture_output=True, text=True,
                               env=_compiler_env())
        except OSError as e:
            raise VariantBuildError("no C compiler (set CC): %s: %s"
                                    % (cc[0], e.strerror or e)) from None
        if r.returncode != 0 or not os.path.exists(obj):
            # Keep the unit that failed where a person can read it, and name
            # it so when the error lies in the composed preamble.
            os.replace(src, stem + ".c")
            msg = error_line(r.stderr.replace(src, stem + ".c"))
            raise VariantBuildError(msg or "%s exited with status %d" % (cc[0], r.returncode))
        # The source first: whoever finds the object finds what it was built from.
        os.replace(src, stem + ".c")
        os.replace(obj, stem + ".so")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return stem + ".so"


def check_symbols(so_path):
    """Undefined symbols of a built object that no versioned system library
    supplies, sorted (None when `nm` is not installed): what the loading
    harness must provide.  A name there that the harness does not export is
    a function the variant calls and nothing defines, which would otherwise
    fail only when the object is loaded."""
    nm = shutil.which("nm")
    if nm is None:
        return None
    r = subprocess.run([nm, "-D", "--undefined-only", so_path], capture_output=True, text=True)
    if r.returncode != 0:
        raise VariantBuildError("%s: nm: %s" % (so_path, error_line(r.stderr)))
    out = set()
    for line in r.stdout.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[-2] == "U" and "@" not in parts[-1] \
                and not parts[-1].startswith(_RUNTIME_PREFIXES):
            out.add(parts[-1])
    return sorted(out)

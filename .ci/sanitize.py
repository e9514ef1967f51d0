#!/usr/bin/env python3
"""The test suite over sanitized builds of both extensions (`tox -e sanitize`).

Two builds, each in a copy of the source tree so that the tree's own build
is left alone:

  address  AddressSanitizer and UndefinedBehaviorSanitizer (any undefined
           behaviour is an error), the tests run with libasan preloaded into
           the (uninstrumented) interpreter;
  thread   ThreadSanitizer, libtsan preloaded, the tests of the model and of
           verification (the ones that run real threads through it).

A sanitizer writes its reports to a log file, not to stderr, because pytest
captures stderr; any report fails the run and is printed.  The suites'
smoke test is left out of both: the suites start their workers with an
environment of their own, which the preloaded runtime does not reach; so are
the tests of pure Python code (the report, the hostile-input tests).

    python .ci/sanitize.py [address|thread ...] [-- pytest arguments]
"""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HERE = os.path.dirname(os.path.abspath(__file__))
# each build's test run, in seconds: about 4 times what it takes on 2 cores
LIMIT = 1200

BUILDS = {
    "address": {
        "flags": ["-fsanitize=address,undefined", "-fno-sanitize-recover=undefined",
                  "-fno-omit-frame-pointer", "-g", "-O1"],
        # libstdc++ too: the interpreter does not link it, and ASan's __cxa_throw
        # interceptor finds no real one when a C++ extension (matplotlib's) throws
        "runtime": "libasan.so",
        "preload_also": ["libstdc++.so.6"],
        "options": {
            # the interpreter is not built for leak checking: it keeps what it allocates
            "ASAN_OPTIONS": "detect_leaks=0:halt_on_error=1:log_path={log}",
            "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1:log_path={log}",
        },
        "tests": ["tests", "--ignore", "tests/test_bench_smoke.py",
                  # pure Python, no compiled code to check: left out to keep the run short
                  "--ignore", "tests/test_report.py", "--ignore", "tests/test_hostile.py",
                  "--ignore", "tests/test_plots.py", "--ignore", "tests/test_install.py",
                  # the explore driver's jobs, workers and cluster (Python), and brute
                  # force against the reduction: the C they run is the explorer's,
                  # which the other explore tests run here
                  "--ignore", "tests/test_explore_parallel.py", "--deselect",
                  "tests/test_dpor.py::test_dpor_runs_one_schedule_of_every_class",
                  # these read the glibc allocator's placement (the same block offset, an
                  # address reused at once) or time a sleeping waiter; ASan's allocator
                  # (redzones, quarantine) and its slowdown change both, not the model
                  "--deselect", "tests/test_loops.py::test_colliding_order_is_seeded",
                  "--deselect",
                  "tests/test_loops.py::test_sleeping_waiter_chain_cold_and_freed",
                  # times two objects of one source against each other: at -O1 with every
                  # access checked, their layouts differ by up to 25% in one run
                  "--deselect",
                  "tests/test_variant_files.py::test_template_round_trip_costs_the_same"],
    },
    "thread": {
        "flags": ["-fsanitize=thread", "-g", "-O1"],
        "runtime": "libtsan.so",
        "options": {
            "TSAN_OPTIONS": "halt_on_error=0:report_signal_unsafe=0:log_path={log}:"
                            "suppressions=" + os.path.join(HERE, "tsan.supp"),
        },
        "tests": ["tests/test_core.py", "tests/test_verify.py", "tests/test_dirty.py",
                  # the bench's verify step explores: the explorer switches the
                  # tasks' stacks by hand (coroutines), which ThreadSanitizer
                  # cannot follow; it runs for many minutes there and proves
                  # nothing about threads
                  "--deselect",
                  "tests/test_verify.py::test_bench_verify_writes_liveness_once"],
    },
}

IGNORE = shutil.ignore_patterns(".git", ".tox", "build", "dist", "*.so", "*.egg-info",
                                "__pycache__", ".pytest_cache", ".hypothesis", "results",
                                "_core.c", "_core_instr.c")


def runtime(name, cc):
    path = subprocess.run([cc, "-print-file-name=" + name], capture_output=True,
                          text=True, check=True).stdout.strip()
    if not os.path.isabs(path) or not os.path.exists(path):
        raise SystemExit("sanitize: %s has no %s" % (cc, name))
    return path


def one(kind, pytest_args):
    b = BUILDS[kind]
    cc = os.environ.get("CC", "gcc")
    with tempfile.TemporaryDirectory(prefix="pagecore-%s-" % kind) as tmp:
        src = os.path.join(tmp, "src")
        shutil.copytree(ROOT, src, ignore=IGNORE)
        flags = " ".join(b["flags"])
        env = dict(os.environ, CFLAGS=flags, LDFLAGS=flags)
        t0 = time.monotonic()
        res = subprocess.run([sys.executable, "setup.py", "-q", "build_ext", "--inplace",
                              "-j", "2"], cwd=src, env=env, capture_output=True, text=True)
        if res.returncode != 0:
            sys.stdout.write(res.stdout + res.stderr)
            raise SystemExit("sanitize %s: the build failed" % kind)
        print("sanitize %s: built in %.0f s" % (kind, time.monotonic() - t0), flush=True)
        log = os.path.join(tmp, "report")
        env = dict(os.environ, LD_PRELOAD=" ".join([runtime(b["runtime"], cc)]
                                                   + b.get("preload_also", [])))
        env.update({k: v.format(log=log) for k, v in b["options"].items()})
        # the variants are built as the tests configure them, with the same flags
        env["PAGECORE_VARIANT_CFLAGS"] = flags
        env["PAGECORE_CACHE"] = os.path.join(tmp, "cache")
        t0 = time.monotonic()
        # pytest-timeout ends a hung test; this bounds the whole build's run,
        # so that CI hears of a hang within its own time
        proc = subprocess.Popen([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
                                + b["tests"] + pytest_args, cwd=src, env=env,
                                start_new_session=True)
        try:
            rc = proc.wait(timeout=LIMIT)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            print("sanitize %s: the tests ran past %d s and were stopped" % (kind, LIMIT))
            rc = 124
        res = subprocess.CompletedProcess(proc.args, rc)
        reports = sorted(f for f in os.listdir(tmp) if f.startswith("report"))
        for f in reports:
            with open(os.path.join(tmp, f), errors="replace") as fh:
                sys.stdout.write(fh.read())
        print("sanitize %s: tests %s in %.0f s, %d report file(s)"
              % (kind, "passed" if res.returncode == 0 else "FAILED (exit %d)" % res.returncode,
                 time.monotonic() - t0, len(reports)), flush=True)
        return res.returncode == 0 and not reports


def main(argv):
    kinds, rest = [], []
    if "--" in argv:
        i = argv.index("--")
        argv, rest = argv[:i], argv[i + 1:]
    for a in argv:
        if a not in BUILDS:
            raise SystemExit("sanitize: unknown build %r (known: %s)" % (a, ", ".join(BUILDS)))
        kinds.append(a)
    ok = [one(k, rest) for k in (kinds or list(BUILDS))]
    return 0 if all(ok) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

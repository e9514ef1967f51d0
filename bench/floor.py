"""floor: the primitives alone, in pagecore's harness and in plain C.

Every cost pagecore reports is built from a few primitives: a locked
read-modify-write, a cmpxchg, a spinlock round trip, a futex wake, a cache
line moving between CPUs.  Each is timed here twice in the same run: by
pagecore's own timed loop (the model's atomic.h, the same nogil loop as
every other suite: floor/<case>/pagecore), and by an independent plain C
program, bench/floor.c, compiled with gcc -O2 when the suite starts
(floor/<case>/plain-c; each value is one run of the program, timing its
own loop).  The two should agree: the harness adds nothing.
"""

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile

from _harness import Case, Suite, cpu_count

HERE = os.path.dirname(os.path.abspath(__file__))

# case -> (pagecore loop, operations per loop, what one operation is)
CASES = {
    "empty_loop": ("bench_empty_loop", 1,
                   "one iteration of an empty loop (a compiler barrier): the harness's "
                   "own cost per operation"),
    "locked_rmw": ("bench_locked_rmw", 1,
                   "one locked read-modify-write (atomic_inc: lock add) on a line of its own"),
    "cmpxchg": ("bench_cmpxchg", 1,
                "one successful cmpxchg (lock cmpxchg), each on the last one's result"),
    "spinlock": ("bench_spinlock", 1, "spin_lock + spin_unlock, uncontended"),
    "wake_no_waiter": ("bench_wake_no_waiter", 1,
                       "FUTEX_WAKE_PRIVATE on a word nobody sleeps on: the syscall a "
                       "wake of a sleeping task issues, without a task to wake"),
    "cacheline_bounce": ("bench_cacheline_bounce", 2,
                         "one hand-off of a cache line between two threads playing "
                         "ping-pong on one word (per transfer)"),
    "wake_sleeping_thread": ("bench_wake_sleeping_thread", 1,
                             "FUTEX_WAKE of a thread asleep on the word, on another CPU: what "
                             "a wake of a sleeping waiter adds to the waker; per operation "
                             "the thread is seen asleep first, only the wake call is timed"),
}

# what bench/floor.c can time too
PLAIN_C = ("empty_loop", "locked_rmw", "cmpxchg", "spinlock", "wake_no_waiter",
           "cacheline_bounce")


def bench_floor(loops, core, variant, case, exe):
    if variant == "plain-c":
        # the program times its own loop; start-up is not in the value
        out = subprocess.run([exe, case, str(loops)], capture_output=True, text=True)
        if out.returncode != 0:
            raise RuntimeError("%s %s: %s" % (exe, case, out.stderr.strip()))
        return float(out.stdout)
    return getattr(core, CASES[case][0])(loops)


def bench_pagecore(loops, core, variant, case, exe):
    return getattr(core, CASES[case][0])(loops)


def floor_program():
    """Where the compiled bench/floor.c lives: named after its source, so that
    the manager compiles it once and the workers find it."""
    src = os.path.join(HERE, "floor.c")
    with open(src, "rb") as f:
        digest = hashlib.sha1(f.read()).hexdigest()[:12]
    cc = os.environ.get("CC", "gcc")
    cache = os.environ.get("PAGECORE_BENCH_CACHE") or os.path.join(
        tempfile.gettempdir(), "pagecore-bench-%d" % os.getuid())
    return src, cc, os.path.join(cache, "floor-%s-%s" % (os.path.basename(cc), digest))


def compile_floor(src, cc, exe):
    if os.path.exists(exe):
        return True
    if shutil.which(cc) is None:
        print("floor: no C compiler (%s): the plain-c column is left out" % cc,
              file=sys.stderr)
        return False
    os.makedirs(os.path.dirname(exe), exist_ok=True)
    tmp = "%s.%d" % (exe, os.getpid())
    res = subprocess.run([cc, "-O2", "-pthread", "-o", tmp, src],
                         capture_output=True, text=True)
    if res.returncode != 0:
        print("floor: %s failed, the plain-c column is left out:\n%s"
              % (cc, res.stderr.strip()), file=sys.stderr)
        return False
    os.replace(tmp, exe)
    # programs of earlier versions of floor.c
    prefix = os.path.basename(exe).rsplit("-", 1)[0] + "-"
    for f in os.listdir(os.path.dirname(exe)):
        if f.startswith(prefix) and f != os.path.basename(exe) and "." not in f:
            try:
                os.remove(os.path.join(os.path.dirname(exe), f))
            except OSError:
                pass
    return True


def main():
    suite = Suite("floor", __doc__, lists=[
        ("--case", str, list(CASES), "floor cases to run")],
        scalars=[("--floor-program", "the compiled bench/floor.c (set by the manager)")])
    cases = suite.option("--case")
    bad = [c for c in cases if c not in CASES]
    if bad:
        suite.error("unknown case %s (known: %s)" % (", ".join(bad), ", ".join(CASES)))
    if suite.args.worker is not None:
        # the manager compiled it and says where
        exe = suite.scalar("--floor-program") or ""
        plain = os.path.exists(exe)
    else:
        src, cc, exe = floor_program()
        plain = compile_floor(src, cc, exe)
        suite.set_scalar("--floor-program", exe if plain else None)
    out = []
    for case in dict.fromkeys(cases):
        loop, ops, what = CASES[case]
        if case in ("cacheline_bounce", "wake_sleeping_thread") and cpu_count() < 2:
            print("floor: %s needs two CPUs: left out" % case, file=sys.stderr)
            continue
        two = plain and case in PLAIN_C
        out.append(Case(
            "floor/" + case, bench_floor, ["pagecore", "plain-c"] if two else ["pagecore"],
            "%s; pagecore: the timed loop of pagecore/model/_loops.pxi; plain-c: bench/floor.c "
            "(gcc or $CC -O2), one program run per value, events from pagecore's loop" % what,
            args=(case, exe), inner_loops=ops, pin=case not in ("cacheline_bounce",
                                                               "wake_sleeping_thread"),
            events_from=(bench_pagecore, (case, exe)),
            size_by_value=two))
    suite.run(out)


if __name__ == "__main__":
    main()

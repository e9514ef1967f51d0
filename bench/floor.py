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

import hashchain
import hotpath
from _harness import Case, Suite, configure, cpu_count

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
    # The calibration set: one kind of event per loop (or two, as the kernel's code has them
    # together), from the primitives the model's kernel code is made of, so that the floor
    # alone prices every kind of event the suites count (pagecore.report.predict).
    "lock_rmw": ("bench_lock_rmw", 1,
                 "spin_lock, one fully ordered locked RMW, spin_unlock: a lock held across an "
                 "RMW, as the i_pages lock is"),
    "percpu_add": ("bench_percpu_add", 1,
                   "this_cpu_add(): an add without lock prefix on the current task's per-CPU "
                   "line, found through the task as every per-CPU access of the model"),
    "percpu_cmpxchg": ("bench_percpu_cmpxchg", 1,
                       "this_cpu_cmpxchg() of a per-CPU byte, its old value read first, as "
                       "mod_zone_state() does: a cmpxchg without lock prefix"),
    "fold": ("bench_fold", 1,
             "a percpu_counter's fold: its raw spinlock, the shared count, the per-CPU part "
             "taken back"),
    "call": ("bench_call", 1,
             "a call through a table of functions, a page as its argument, to a kernel "
             "function that does nothing: the harness's call of a variant"),
    "call_rmw": ("bench_call_rmw", 1,
                 "a call through the table of a function doing one locked RMW on a page's "
                 "flags, the next of 64 pages each time: unlock_page()'s shape"),
    "fcall": ("bench_fcall", 1,
              "a direct call of a function that is never inlined, a page as its argument: "
              "a call between the kernel's functions, as the composed model makes them"),
    "tailcall": ("bench_tailcall", 1,
                 "a direct call of a wrapper that jumps into a function that is never inlined: "
                 "mm/folio-compat.c's page-named wrappers of the folio functions"),
    "xa_mark": ("bench_xa_mark", 1,
                "the writeback mark set and cleared in an xarray leaf that another page keeps "
                "marked: two writes of the node's line"),
    "cold_line": ("bench_cold_line", 1,
                  "a chase through 32 lines, each on a page of its own and evicted from the "
                  "caches first (not timed): per line, one load from memory"),
    "walk": ("bench_walk_colliding", 1,
             "wake_up_page_bit() (the library's, 5.10) of a page with no waiter, in a bucket "
             "of 16 warm entries of other pages: the bucket lock, the walk, ClearPageWaiters"),
    "wake_running": ("bench_wake_running", 1,
                     "try_to_wake_up() of a task that set its state and has not slept: the "
                     "fence and the state's cmpxchg, no futex"),
    "start_writeback": ("bench_start_writeback", 1,
                        "set_page_writeback() of a page cache page, the library's (5.10) "
                        "__test_set_page_writeback() with its statistics: a kernel path no "
                        "other suite times alone"),
}

# cases that run the model (a configured original); their loop's extra arguments
MODEL_CASES = {"percpu_add": (), "percpu_cmpxchg": (), "fold": (), "call": (), "call_rmw": (),
               "fcall": (), "tailcall": (),
               "xa_mark": (),
               "walk": (16,), "start_writeback": ()}

# what bench/floor.c can time too
PLAIN_C = ("empty_loop", "locked_rmw", "cmpxchg", "spinlock", "wake_no_waiter",
           "cacheline_bounce")


# The calibration paths: the kernel paths the hot-path suite times and the default mix's
# hash-chain term, each as the pre-fix kernel (original) runs it, in the loop its own suite
# times.  The events count a path's atomics, locks, calls and statistics; what they do not
# count (the loads of the page's, the mapping's and the xarray's lines, branches, the work
# between the counted steps) is the path's own, about the same for every variant of the path,
# and it differs between machines: measured here, on the machine whose floor this is, it
# prices that part of every variant's path there (pagecore.report.predict).
# (suite, case, ((k, v), ...)) -> (loop function, its arguments, single-threaded)
PATHS = {("hotpath", case, ()): (hotpath.bench_case, (case,), spec[2])
         for case, spec in hotpath.CASES.items()}
PATHS[("hashchain", "end_page_writeback",
       (("bits", "8"), ("chain", "4"), ("entries", "cold")))] = (
    hashchain.bench_end_page_writeback, (8, 4, True), True)


def bench_path(loops, core, variant, term):
    fn, args, _ = PATHS[term]
    return fn(loops, core, "original", *args)


def bench_floor(loops, core, variant, case, exe):
    if variant == "plain-c":
        # the program times its own loop; start-up is not in the value
        out = subprocess.run([exe, case, str(loops)], capture_output=True, text=True)
        if out.returncode != 0:
            raise RuntimeError("%s %s: %s" % (exe, case, out.stderr.strip()))
        return float(out.stdout)
    return bench_pagecore(loops, core, variant, case, exe)


def bench_pagecore(loops, core, variant, case, exe):
    if case in MODEL_CASES:
        configure(core, "original")
        return getattr(core, CASES[case][0])(loops, *MODEL_CASES[case])
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
        ("--case", str, list(CASES) + ["path"], "floor cases to run ('path': the "
         "calibration paths)")],
        scalars=[("--floor-program", "the compiled bench/floor.c (set by the manager)")])
    cases = suite.option("--case")
    bad = [c for c in cases if c not in CASES and c != "path"]
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
    for case in dict.fromkeys(c for c in cases if c != "path"):
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
    if "path" in cases:
        for term, (_, _, pin) in PATHS.items():
            if not pin and cpu_count() < 2:
                continue
            suite_, case, params = term
            out.append(Case(
                "floor/path", bench_path, ["pagecore"],
                "%s/%s%s as original runs it: a calibration path (what its events do not "
                "count, priced on this machine)" % (suite_, case, "".join(
                    "/%s=%s" % kv for kv in params)),
                args=(term,), params=(("suite", suite_), ("case", case)) + params, pin=pin))
    suite.run(out)


if __name__ == "__main__":
    main()

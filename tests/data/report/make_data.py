"""Write the small synthetic result set that tests/test_report.py reads.

    python3 tests/data/report/make_data.py

Two machines, shaped like `pagecore bench` output (results/<machine>/<suite>.json, one pyperf
suite per file, values in seconds per operation) plus a verify.json for alpha only, so the
report has to merge machines and cope with a machine that lacks some suites.  The numbers are
invented but keep the shapes that matter to the report: get/put costs two atomics on the
no-waiter path, the walk is linear in chain length with a bookmark step past 64 entries,
contention flattens beyond nproc.  Like `pagecore bench`, every run is one worker process that
measured every variant, recorded as `pagecore_worker`, and each process has a speed of its own
(a slow vCPU) that all its variants share: paired comparisons see through it, unpaired ones do
not.  `pagecore_impl` names the code each variant runs.  Fixed seed: rerunning gives the same
files.
"""

import json
import os
import random

import pyperf

from pagecore.model.variants import VARIANTS

HERE = os.path.dirname(os.path.abspath(__file__))
rng = random.Random(20210104)

WB = ["original", "get-put", "loop-in-wait", "shipped-5.10", "wake-under-i_pages", "folio-6.7"]
EVENT_NAMES = ("atomic_rmw", "barrier", "cmpxchg", "lock", "sleeps", "wakeups", "walked")


def events(**kw):
    return " ".join(f"{k}={kw.get(k, 0):g}" for k in EVENT_NAMES)


# each worker process's speed, shared by every variant it measured (a slow vCPU)
PROCESS_SPEED = [1.0, 1.12, 0.98, 1.01, 1.10]


def bench(machine, cpus, name, ns, rsd=0.01, ev=None, runs=5, values=2, ops=None):
    meta = {"name": name, "hostname": machine + ".example", "cpu_count": cpus,
            "cpu_model_name": "Synthetic CPU @ 3.0GHz", "loops": 1000,
            "date": "2021-01-04T12:00:00", "duration": 0.5}
    if ev is not None:
        meta["pagecore_events"] = ev
    variant = name.split("/")[2]
    if ops is not None and variant in VARIANTS:
        meta["pagecore_impl"] = VARIANTS[variant].implementation(ops)
    out = []
    for k in range(runs):
        run_mean = ns * PROCESS_SPEED[k % len(PROCESS_SPEED)] * (1 + rng.gauss(0, rsd))
        vals = [round(run_mean * (1 + rng.gauss(0, rsd / 2)) * 1e-9, 15) for _ in range(values)]
        out.append(pyperf.Run(vals, metadata=dict(meta, pagecore_worker=k),
                              collect_metadata=False))
    return pyperf.Benchmark(out)


def dump(machine, suite, benches):
    os.makedirs(os.path.join(HERE, machine), exist_ok=True)
    path = os.path.join(HERE, machine, suite + ".json")
    pyperf.BenchmarkSuite(benches).dump(path, compact=True, replace=True)


# per-variant ns for the hot path: (no_waiters, one_waiter, wait_clear, cycle)
HOT = {
    "original": (14.0, 160.0, 3.0, 60.0),
    "get-put": (22.5, 169.0, 3.0, 68.0),
    "loop-in-wait": (14.1, 160.5, 3.0, 61.0),
    "shipped-5.10": (22.6, 170.0, 3.0, 69.0),
    "wake-under-i_pages": (15.0, 175.0, 3.0, 62.0),
    "folio-6.7": (19.0, 150.0, 3.0, 64.0),
}
HOT_EVENTS = {
    "original": events(atomic_rmw=1, barrier=1, lock=1),
    "get-put": events(atomic_rmw=3, barrier=1, lock=1),
    "loop-in-wait": events(atomic_rmw=1, barrier=1, lock=1),
    "shipped-5.10": events(atomic_rmw=3, barrier=1, lock=1),
    "wake-under-i_pages": events(atomic_rmw=1, barrier=1, lock=1),
    "folio-6.7": events(atomic_rmw=3, lock=1),
}


EWB = ("end_page_writeback",)
WAKE = ("end_page_writeback", "wake_page_function")


def hotpath(machine, cpus, scale):
    out = []
    for v in WB:
        nw, ow, wc, cyc = HOT[v]
        cases = [("end_page_writeback_no_waiters", nw, HOT_EVENTS[v], EWB),
                 # folio-6.7 wakes through folio_wake_bit: dearer with a waiter queued
                 ("end_page_writeback_one_waiter", nw + (25.0 if v == "folio-6.7" else 9.0),
                  events(atomic_rmw=2, barrier=1, lock=2, wakeups=1, walked=1), WAKE),
                 ("end_page_writeback_sleeping_waiter", ow,
                  events(atomic_rmw=2, barrier=1, lock=2, wakeups=1, walked=1), WAKE),
                 ("wait_on_page_writeback_clear", wc, events(), ()),
                 ("writeback_cycle", cyc, None, EWB),
                 ("unlock_page_no_waiters", 6.0, events(atomic_rmw=1), ()),
                 ("unlock_page_sleeping_waiter", 150.0, events(atomic_rmw=1, lock=1, wakeups=1),
                  ("wake_page_function",))]
        for case, ns, ev, ops in cases:
            out.append(bench(machine, cpus, f"hotpath/{case}/{v}", ns * scale, ev=ev, ops=ops))
    dump(machine, "hotpath", out)


def floor(machine, cpus, scale):
    base = {"empty_loop": 0.3, "locked_rmw": 4.4, "cmpxchg": 8.0, "spinlock": 6.0,
            "wake_no_waiter": 95.0, "cacheline_bounce": 36.0}
    out = []
    for case, ns in base.items():
        out.append(bench(machine, cpus, f"floor/{case}/pagecore", ns * scale * 1.04,
                         ev=events(atomic_rmw=1) if case == "locked_rmw" else None))
        out.append(bench(machine, cpus, f"floor/{case}/plain-c", ns * scale))
    dump(machine, "floor", out)


def contention(machine, cpus, scale):
    out = []
    threads = [1, 2, 4, 8, 16][:len(bin(2 * cpus)) - 2]  # 1 .. 2*nproc
    for case, share in (("writeback_cycle_shared", 0.45), ("writeback_cycle_distinct", 0.03)):
        for v in ("original", "shipped-5.10", "folio-6.7"):
            one = HOT[v][3] * scale
            for t in threads:
                busy = min(t, cpus)
                # per-op time per thread: the shared line serialises a share of each op,
                # and past nproc threads share cores
                per_op = one * (1 + share * (busy - 1)) * (t / busy)
                out.append(bench(machine, cpus, f"contention/{case}/{v}/threads={t}",
                                 per_op, rsd=0.03, ops=("end_page_writeback",
                                                        "wake_page_function", "bookmarks",
                                                        "wait_on_page_writeback")))
    dump(machine, "contention", out)


def hashchain(machine, cpus, scale):
    out = []
    chains = [0, 1, 4, 16, 63, 64, 65, 256, 4096]
    for v, slope, bookmarks in (("original", 2.0, True), ("shipped-5.10", 2.0, True),
                                ("wake-under-i_pages", 2.1, True), ("folio-6.7", 1.7, False)):
        for c in chains:
            for entries, per in (("warm", 1.0), ("cold", 40.0)):
                ns = HOT[v][0] + 9.0 + slope * per * c + (35.0 * (c // 64) if bookmarks else 0.0)
                ops = WAKE + (("bookmarks",) if c + 1 > 64 else ())
                out.append(bench(machine, cpus,
                                 f"hashchain/end_page_writeback/{v}/bits=8/chain={c}"
                                 f"/entries={entries}",
                                 ns * scale, rsd=0.02, ops=ops,
                                 ev=events(atomic_rmw=2, lock=2, wakeups=1, walked=c + 1)))
    for c in chains:
        for entries, per in (("warm", 2.1), ("cold", 80.0)):
            out.append(bench(machine, cpus, f"hashchain/ipages_hold/wake-under-i_pages/bits=8"
                             f"/chain={c}/entries={entries}", (25.0 + per * c) * scale,
                             rsd=0.02))
    dump(machine, "hashchain", out)


def dirty(machine, cpus, scale):
    out = []
    for v, extra in (("cpdfio-2.6.19", 0.0), ("cpdfio-set-page-dirty", 1.0)):
        for state, ns in (("unmapped", 40.0), ("mapped_clean", 90.0), ("mapped_dirty", 95.0)):
            ev = events(atomic_rmw=1 + (extra if state == "mapped_dirty" else 0))
            ns2 = ns + (12.0 if extra and state == "mapped_dirty" else extra)
            out.append(bench(machine, cpus, f"dirty/cpdfio_writepage/{v}/state={state}",
                             ns2 * scale, ev=ev, ops=("clear_page_dirty_for_io",)))
    dump(machine, "dirty", out)


def verify(machine):
    racy = {  # variant -> scenarios it fails (as the model is expected to find)
        "original": ("writeback-set-again", "page-reuse"),
        "get-put": ("writeback-set-again",),
        "loop-in-wait": ("page-reuse",),
        "wake-under-i_pages": ("writeback-set-again",),
        "cpdfio-2.6.19": ("mmap-lost-write",),
    }
    rows = []
    for v in WB + ["cpdfio-2.6.19", "cpdfio-set-page-dirty"]:
        scenarios = (("mmap-lost-write",) if v.startswith("cpdfio")
                     else ("writeback-set-again", "page-reuse"))
        for s in scenarios:
            for mode in ("replay", "stress"):
                bad = s in racy.get(v, ())
                failures = (["lost_write"] if s == "mmap-lost-write" else ["bug_on"]) if bad else []
                if bad and mode == "replay":
                    # replay evidence: the interleaving, one step a line
                    evidence = ["cpu1: end_page_writeback clears PG_writeback, delayed",
                                "cpu2: lock_page; set_page_writeback; unlock_page",
                                "cpu3: wait_on_page_writeback sleeps",
                                "cpu1: wake_up_page wakes cpu3",
                                "cpu3: BUG_ON(PageWriteback)"]
                elif bad:
                    evidence = [{"seed": 7, "ops": 200000, "first_failure_op": 1817,
                                 "what": failures[0]}]
                else:
                    evidence = []
                counts = {"ops": 1 if mode == "replay" else 200000}
                for f in failures:
                    counts[f] = 1 if mode == "replay" else 3
                rows.append({"variant": v, "scenario": s, "mode": mode,
                             "failures": failures, "counts": counts, "evidence": evidence})
    with open(os.path.join(HERE, machine, "verify.json"), "w") as f:
        json.dump({"results": rows}, f, indent=1)
        f.write("\n")


def main():
    for machine, cpus, scale in (("alpha", 4, 1.0), ("beta", 8, 0.8)):
        floor(machine, cpus, scale)
        hotpath(machine, cpus, scale)
        contention(machine, cpus, scale)
        if machine == "alpha":
            # beta ran only part of the suites: the report must say what is missing
            hashchain(machine, cpus, scale)
            dirty(machine, cpus, scale)
            verify(machine)


if __name__ == "__main__":
    main()

"""Stress: real threads running a scenario's workload at random, windows widened.

Each scenario has a workload over a small pool of pages, run by N worker
threads (N from the CPUs it may run on, at least 2) for a given time on the
instrumented build.  The race points where the scenario's window opens are widened: a
thread that reaches one sleeps or spins for widen_ns with probability
widen_prob.  What goes wrong is what the model records (bug counters and
log) and what the watchdog of run_threads() sees (a thread that never
finishes: hang).  Nothing is expected: a clean variant is one whose run
ends with every counter at zero.

A run the harness could not carry out faithfully gives no verdict: its
result is inconclusive, with the reason, and never racy or clean.  That is
a run in which no operation ran or no widened window was ever passed, one
in which a harness thread failed, and one the watchdog had to stop while
the model was still making progress (more threads or wider windows than
the machine can drain in time).  A hang is a finding only when nothing in
the model moved for STALL seconds before the watchdog fired; and what the
model records after the watchdog made every sleeper give up is not counted.

    writeback-set-again  pages stay in the page cache; workers run
        write_cache_pages (start a writeback, or only wait for one) and
        filemap_fdatawait; one thread, the I/O completion, ends each
        writeback that was started.
    page-reuse           as above, and workers also truncate pages (the last
        reference goes, the page is freed) and add new pages in their place
        (alloc_page hands the page just freed out again).
    mmap-lost-write      pages with buffers, mapped shared and writable by two
        vmas; workers store through the mappings, write single buffers
        themselves (ll_rw_block), run write_cache_pages, remap, and check
        pages against the disk (check_lost_write).
"""

import collections
import itertools
import random
import threading
import time

from pagecore._errors import PagecoreError
from pagecore.model.machine import Model, cpu_count, run_threads
from pagecore.verify.interleaving import describe_bug
from pagecore.verify.replay import EWB_WINDOWS, WAITERS_TESTED

WIDEN_NS = 100_000      # default widening of a window: 100 us ...
WIDEN_PROB = 0.3        # ... at 30% of the passes
GRACE = 10.0            # seconds after the end before a thread counts as hung
STALL = 2.0             # ... and nothing in the model moved for this long (plus the widening)

# What a stress run accepts.  The task pool holds PC_MAX_TASKS (4096) tasks,
# and a window widened past the watchdog's grace would be reported as a hang.
SECONDS_RANGE = (0.01, 3600.0)
MAX_THREADS = 1024
MAX_WIDEN_NS = 1_000_000_000
MAX_SEED = 2**32 - 1

# The race points whose windows each workload widens.
WIDEN = {
    "writeback-set-again": EWB_WINDOWS + (WAITERS_TESTED,),
    "page-reuse": EWB_WINDOWS + (WAITERS_TESTED, "truncate_before_free"),
    "mmap-lost-write": ("cpdfio_mid", "writepage_mid", "fault_mid"),
}


def default_threads():
    return min(MAX_THREADS, max(2, cpu_count()))


def check_params(seconds, threads, widen_ns, widen_prob, seed):
    """PagecoreError unless stress can run these faithfully."""
    import math

    lo, hi = SECONDS_RANGE
    if not (isinstance(seconds, (int, float)) and math.isfinite(seconds)
            and lo <= seconds <= hi):
        raise PagecoreError("--seconds must be in %g..%g, not %r" % (lo, hi, seconds))
    if threads is not None and not (isinstance(threads, int) and 1 <= threads <= MAX_THREADS):
        raise PagecoreError("--threads must be in 1..%d, not %r" % (MAX_THREADS, threads))
    if not (isinstance(widen_ns, int) and 0 <= widen_ns <= MAX_WIDEN_NS):
        raise PagecoreError("--widen-ns must be in 0..%d (1 s), not %r"
                            % (MAX_WIDEN_NS, widen_ns))
    if not (isinstance(widen_prob, (int, float)) and 0.0 <= widen_prob <= 1.0):
        raise PagecoreError("--widen-prob must be in 0..1, not %r" % (widen_prob,))
    if seed is not None and not (isinstance(seed, int) and 0 <= seed <= MAX_SEED):
        raise PagecoreError("--seed must be in 0..%d, not %r" % (MAX_SEED, seed))


class _Workload:
    """State shared by the threads of one stress run."""

    def __init__(self, m, seconds, seed, nthreads):
        self.m = m
        self.c = m.core
        self.end = time.monotonic() + seconds
        self.seed = seed
        self.nthreads = nthreads
        self.counters = []      # one Counter per thread: no two threads share one
        self.workers_left = 0
        self.abandon = False    # set by the watchdog: nobody is coming back
        self.lock = threading.Lock()

    def rng(self, i):
        return random.Random(self.seed * 1000 + i)

    def counter(self):
        n = collections.Counter()
        self.counters.append(n)
        return n

    @property
    def ops(self):
        total = collections.Counter()
        for n in list(self.counters):
            total.update(n)
        return total

    def running(self):
        return time.monotonic() < self.end

    def worker_done(self):
        with self.lock:
            self.workers_left -= 1


class _Writeback(_Workload):
    """writeback-set-again and page-reuse: writebacks started under the page
    lock by workers, ended by an I/O completion thread."""

    def __init__(self, m, seconds, seed, nthreads, truncate):
        super().__init__(m, seconds, seed, nthreads)
        self.truncate = truncate
        self.nslots = 2
        # Slot 0's page is a file page; slot 1's is in a mapping without
        # writeback tags, as swap is, whose __test_set_page_writeback() takes
        # no i_pages lock: a variant that closes a window only by holding
        # that lock is tried where it does not.
        self.mapping = [0, 1]
        self.c.set_mapping_writeback_tags(1, False)
        self.slots = [m.new_page(self.mapping[i], i) for i in range(self.nslots)]
        for p in self.slots:
            m.put_page(p)       # the page cache's reference is the slot's
        self.slot_lock = threading.Lock()
        self.inflight = collections.deque()

    def lookup(self, i):
        # find_get_page(): the page in slot @i with a reference, or None
        with self.slot_lock:
            p = self.slots[i]
            if p is not None:
                self.c.get_page_(p)
            return p

    def worker(self, i):
        rng, n = self.rng(i), self.counter()
        c = self.c
        ops = ("write",) * 4 + ("wait",) * 3 + ("fdatawait",) * 2
        if self.truncate:
            ops += ("truncate",) * 2 + ("populate",) * 2
        try:
            while self.running():
                op = rng.choice(ops)
                slot = rng.randrange(self.nslots)
                if op == "truncate":
                    with self.slot_lock:
                        p = self.slots[slot]
                        self.slots[slot] = None
                        if p is not None:
                            c.get_page_(p)
                    if p is not None:
                        c.truncate_inode_page_(p)
                        n[op] += 1
                    continue
                if op == "populate":
                    with self.slot_lock:
                        if self.slots[slot] is not None:
                            continue
                    p = c.alloc_page_()
                    if p < 0:
                        continue
                    c.add_to_page_cache_(p, self.mapping[slot], slot)
                    with self.slot_lock:
                        won = self.slots[slot] is None
                        if won:
                            self.slots[slot] = p
                    if won:
                        c.put_page_(p)          # the slot keeps the page cache's
                    else:                       # lost the slot: throw it away
                        c.truncate_inode_page_(p)
                    n[op] += 1
                    continue
                p = self.lookup(slot)
                if p is None:
                    continue
                if op == "write":
                    if c.write_cache_pages_in(p, self.mapping[slot], "start")[0] == "started":
                        self.inflight.append(p)
                elif op == "wait":
                    c.write_cache_pages_in(p, self.mapping[slot], "wait")
                else:
                    c.wait_on_page_writeback_(p)
                c.put_page_(p)
                n[op] += 1
        finally:
            self.worker_done()

    def completion(self):
        # The I/O completion: ends every writeback that was started, until
        # the last worker is gone.  Not before: a worker still finishing its
        # last operation after the end may start a writeback that another
        # waits on.  A worker that never comes back is the watchdog's to
        # find; it sets abandon so that this one does not keep the run.
        c, n = self.c, self.counter()
        while True:
            try:
                p = self.inflight.popleft()
            except IndexError:
                if self.abandon or (self.workers_left <= 0 and not self.inflight):
                    return
                time.sleep(0.00005)
                continue
            c.end_page_writeback_(p)
            n["end_page_writeback"] += 1


class _Dirty(_Workload):
    """mmap-lost-write: stores through shared writable mappings, the
    filesystem's own buffer writes, write_cache_pages, and checks."""

    def __init__(self, m, seconds, seed, nthreads):
        super().__init__(m, seconds, seed, nthreads)
        c = self.c
        self.nbuffers, self.nvmas = 4, 2
        c.dirty_configure(self.nbuffers, self.nvmas)
        self.pages = []
        for i in range(2):
            p = m.new_page(0, i)
            c.create_page_buffers_(p)
            for v in range(self.nvmas):
                c.do_no_page_(v, p, False)
            self.pages.append(p)
        self.values = itertools.count(1)

    def worker(self, i):
        rng, n = self.rng(i), self.counter()
        c = self.c
        ops = ("store",) * 8 + ("flush",) * 4 + ("writeback",) * 5 + ("check",) * 2 + ("remap",)
        try:
            while self.running():
                op = rng.choice(ops)
                p = rng.choice(self.pages)
                if op == "store":
                    c.mmap_write(rng.randrange(self.nvmas), p, rng.randrange(self.nbuffers),
                                 next(self.values) & 0xffffffff)
                elif op == "flush":
                    c.ll_rw_block_write_(p, rng.randrange(self.nbuffers))
                elif op == "writeback":
                    c.write_cache_pages_in(p, 0, "write")
                elif op == "check":
                    c.check_lost_write_(p)
                else:
                    v = rng.randrange(self.nvmas)
                    c.zap_pte_(v, p)
                    c.do_no_page_(v, p, False)
                n[op] += 1
        finally:
            self.worker_done()

    def final(self):
        n = self.counter()
        for p in self.pages:
            self.c.check_lost_write_(p)
            n["check"] += 1


def stress(variant, scenario, seconds=2.0, threads=None, widen_ns=WIDEN_NS,
           widen_prob=WIDEN_PROB, seed=None, progress=None):
    """Run @scenario's workload against @variant for @seconds: one verify
    result.  @progress(text), if given, is called about every 2 seconds."""
    check_params(seconds, threads, widen_ns, widen_prob, seed)
    nthreads = threads or default_threads()
    seed = random.randrange(1 << 30) if seed is None else seed
    m = Model(variant, instrumented=True, npages=64)
    c = m.core
    for point in WIDEN[scenario]:
        c.rp_delay(point, int(widen_ns), float(widen_prob))
    if scenario == "mmap-lost-write":
        w = _Dirty(m, seconds, seed, nthreads)
        fns = {"worker-%d" % i: (lambda i=i: w.worker(i)) for i in range(nthreads)}
    else:
        w = _Writeback(m, seconds, seed, nthreads, truncate=(scenario == "page-reuse"))
        # The I/O completion, which never waits on a page, starts first: a
        # writeback started before it runs would wait for it.
        fns = {"end_io": w.completion}
        fns.update({"worker-%d" % i: (lambda i=i: w.worker(i)) for i in range(nthreads)})
    w.workers_left = sum(1 for n in fns if n.startswith("worker"))
    first = {}
    t0 = time.monotonic()
    stop = threading.Event()
    moved = {"events": -1, "at": t0}
    stall = STALL + 3 * widen_ns / 1e9

    def monitor():
        # when the first failure showed, when the model last moved (any
        # event counted), and progress for long runs
        last = t0
        while not stop.wait(0.01):
            now = time.monotonic()
            ev = sum(c.events().values())
            if ev != moved["events"]:
                moved["events"], moved["at"] = ev, now
            if not first and any(c.bugs().values()):
                first["seconds"] = round(now - t0, 3)
                first["ops"] = sum(w.ops.values())
            if progress and now - last >= 2.0:
                last = now
                progress("%s / %s: %.0f of %.0f s, %d ops%s"
                         % (variant, scenario, now - t0, seconds, sum(w.ops.values()),
                            "".join(", %s %d" % kv for kv in c.bugs().items() if kv[1])))

    at_hang = {}

    def on_hang(alive):
        # Before the watchdog makes every sleeper give up: what the model
        # has counted so far, and whether it had stopped moving.
        at_hang["bugs"] = c.bugs()
        at_hang["log"] = len(c.bug_log())
        at_hang["still"] = round(time.monotonic() - moved["at"], 3)
        w.abandon = True

    mon = threading.Thread(target=monitor, daemon=True)
    mon.start()
    try:
        run = run_threads(c, fns, timeout=seconds + GRACE, on_hang=on_hang)
    except KeyboardInterrupt:
        # stop the workers and make every sleeper give up before going
        w.end = 0.0
        c.abort_all()
        for th in threading.enumerate():
            if th.name in fns:
                th.join(2.0)
        c.clear_abort()
        raise
    finally:
        stop.set()
        mon.join()
        for point in WIDEN[scenario]:
            c.rp_delay(point, 0, 0.0)
    if not run.hung and isinstance(w, _Dirty):
        w.final()
    elapsed = time.monotonic() - t0
    bugs = at_hang.get("bugs") or c.bugs()
    after_abort = sum(c.bugs().values()) - sum(bugs.values())
    if not first and any(bugs.values()):
        first["seconds"] = round(elapsed, 3)
        first["ops"] = sum(w.ops.values())
    ops = sum(w.ops.values())
    counts = {"ops": ops, "threads": len(fns), "seconds": round(elapsed, 3)}
    counts.update({k: v for k, v in bugs.items() if v})
    failures = [k for k, v in bugs.items() if v]
    hits = {p: c.rp_hits(p) for p in WIDEN[scenario]}
    inconclusive = None
    if run.hung and at_hang.get("still", 0.0) >= stall:
        counts["hang"] = len(run.hung)
        failures.append("hang")
    elif run.hung:
        inconclusive = ("the watchdog stopped %d of %d threads %.0f s after the end while the "
                        "model was still moving (last %.1f s ago): the machine could not "
                        "drain %d threads with windows widened %d ns in time"
                        % (len(run.hung), len(fns), GRACE, at_hang.get("still", 0.0),
                           nthreads, widen_ns))
    if run.errors:
        inconclusive = inconclusive or "a harness thread failed: %s" % "; ".join(
            "%s: %s" % kv for kv in sorted(run.errors.items())[:3])
    if ops == 0:
        inconclusive = inconclusive or "no operation ran in %.3g s" % elapsed
    elif not any(hits.values()) and not failures:
        inconclusive = inconclusive or ("%d operations ran but none passed a widened window "
                                        "(%s)" % (ops, ", ".join(WIDEN[scenario])))
    bits = {v: k for k, v in c.page_bits().items()}
    evidence = []
    if inconclusive:
        evidence.append("inconclusive: %s" % inconclusive)
    if run.hung:
        evidence.append("watchdog: %s" % run.describe_hang())
    if after_abort > 0:
        evidence.append("%d records after the watchdog made the sleepers give up: not counted"
                        % after_abort)
    for name, err in run.errors.items():
        evidence.append("%s: error: %s" % (name, err))
    # the first record of each kind, then the earliest others, 8 in all
    log = c.bug_log()[:at_hang["log"]] if "log" in at_hang else c.bug_log()
    firsts = [next(r for r in log if r["kind"] == k) for k in failures
              if any(r["kind"] == k for r in log)]
    log = (firsts + [r for r in log if r not in firsts])[:8]
    evidence.extend(describe_bug(r, bits) for r in log)
    more = sum(bugs.values()) - len(log)
    if more > 0:
        evidence.append("... and %d more of the same kinds" % more)
    summary = {"seed": seed, "threads": len(fns), "seconds": round(elapsed, 3),
               "ops": counts["ops"], "widen_ns": int(widen_ns), "widen_prob": widen_prob,
               "widened": list(WIDEN[scenario]),
               "race_point_hits": hits,
               "ops_by_kind": dict(sorted(w.ops.items()))}
    if first and failures:      # not a record the watchdog's abort produced
        summary["first_failure_s"] = first["seconds"]
        summary["first_failure_op"] = first["ops"]
    evidence.append(summary)
    if run.errors:
        # an exception in the harness is not a model outcome, but it must show
        counts["harness_errors"] = len(run.errors)
    out = {"variant": variant, "scenario": scenario, "mode": "stress",
           "failures": failures, "counts": counts, "evidence": evidence + log[:8]}
    if inconclusive and not failures:
        out["inconclusive"] = inconclusive
    return out

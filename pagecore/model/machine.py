"""Model: the Python face of one configured model, under kernel names.

The extension modules hold one model each (its page pool, wait table and
variant are C globals, as the kernel's are), so a Model is a view of the
module it configures: creating a second Model on the same build resets the
first.  Use instrumented=True for event counts, race points and touch
checks; the default is the build that is timed.
"""

import os
import threading
import time

from pagecore._errors import PagecoreError


def cpu_count():
    """The CPUs this process may run on: thread counts come from here, never
    from a constant (the affinity mask, not the machine's total, so that a
    run under taskset sizes itself to what it got)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def build(instrumented):
    try:
        if instrumented:
            from pagecore.model import _core_instr as core
        else:
            from pagecore.model import _core as core
    except ImportError as e:
        if not (e.name or "").startswith("pagecore.model._core") and "_core" not in str(e):
            raise
        raise PagecoreError("the compiled core is missing from %s: install pagecore "
                            "(pip install .) or build it in place "
                            "(python setup.py build_ext --inplace)"
                            % __file__.rsplit("/", 1)[0]) from None
    return core


class Model:
    def __init__(self, variant="original", table_bits=8, npages=256, nmappings=8,
                 instrumented=False):
        self.core = build(instrumented)
        self.core.configure(variant, table_bits, npages, nmappings)
        self.variant = variant
        self.instrumented = instrumented
        bits = self.core.page_bits()
        for name, bit in bits.items():
            setattr(self, name, bit)

    # pages and mappings
    def alloc_page(self):
        pid = self.core.alloc_page_()
        if pid < 0:
            raise PagecoreError("out of pages")
        return pid

    def new_page(self, mapping=0, index=0):
        """alloc_page + add_to_page_cache: a page cache page with the
        allocation's reference still held by the caller."""
        pid = self.alloc_page()
        self.core.add_to_page_cache_(pid, mapping, index)
        return pid

    def info(self, page):
        return self.core.page_info(page)

    def flags(self, page):
        return self.core.page_flags(page)

    def page_count(self, page):
        return self.core.page_count(page)

    def PageWriteback(self, page):
        return self.core.PageWriteback_(page)

    def PageWaiters(self, page):
        return self.core.PageWaiters_(page)

    def PageLocked(self, page):
        return self.core.PageLocked_(page)

    def PageDirty(self, page):
        return self.core.PageDirty_(page)

    def SetPageReclaim(self, page):
        self.core.SetPageReclaim(page)

    def get_page(self, page):
        self.core.get_page_(page)

    def put_page(self, page):
        self.core.put_page_(page)

    def add_to_page_cache(self, page, mapping=0, index=0):
        self.core.add_to_page_cache_(page, mapping, index)

    def delete_from_page_cache(self, page):
        self.core.delete_from_page_cache_(page)

    def truncate_inode_page(self, page):
        self.core.truncate_inode_page_(page)

    def mapping_info(self, mapping=0):
        return self.core.mapping_info(mapping)

    # the page lock and writeback
    def lock_page(self, page):
        self.core.lock_page_(page)

    def trylock_page(self, page):
        return self.core.trylock_page_(page)

    def unlock_page(self, page):
        self.core.unlock_page_(page)

    def put_and_wait_on_page_locked(self, page):
        self.core.put_and_wait_on_page_locked_(page)

    def wait_on_page_bit(self, page, bit_nr):
        self.core.wait_on_page_bit_(page, bit_nr)

    def set_page_writeback(self, page):
        return self.core.set_page_writeback_(page)

    def end_page_writeback(self, page):
        self.core.end_page_writeback_(page)

    def wait_on_page_writeback(self, page):
        self.core.wait_on_page_writeback_(page)

    def start_writeback(self, page):
        """lock_page, set_page_writeback, unlock_page: how writeback starts."""
        self.core.lock_page_(page)
        self.core.set_page_writeback_(page)
        self.core.unlock_page_(page)

    def write_cache_pages(self, page, start_writeback=True):
        """True if BUG_ON(PageWriteback) fired after the wait."""
        return self.core.write_cache_pages_page(page, start_writeback)

    # the wait table
    def bucket_of(self, page):
        return self.core.bucket_of(page)

    def bucket_len(self, bucket):
        return self.core.bucket_len(bucket)

    def park_colliding(self, page, n, bit_nr=-1):
        return self.core.park_colliding(page, n, bit_nr)

    def unpark_colliding(self):
        self.core.unpark_colliding()

    # what happened
    def events(self):
        return self.core.events()

    def events_reset(self):
        self.core.events_reset()

    def bugs(self):
        return self.core.bugs()

    def bug_log(self):
        return self.core.bug_log()

    def tasks(self):
        return self.core.tasks()


class ThreadRun:
    """What run_threads() saw: per-thread results and errors, and the tasks
    that were stuck when the watchdog fired (empty when none hung)."""

    def __init__(self):
        self.results = {}
        self.errors = {}
        self.hung = []
        self.unrecoverable = []
        self.elapsed = 0.0

    @property
    def ok(self):
        return not self.hung and not self.errors

    def describe_hang(self):
        lines = []
        for t in self.hung:
            where = t.get("where") or "running"
            page = "" if t.get("page") is None else " page %s bit %s" % (t["page"], t["bit"])
            lines.append("%s (pid %d) stuck in %s, state %s%s"
                         % (t["comm"], t["pid"], where, t["state"], page))
        return "; ".join(lines)


def run_threads(core, fns, timeout=10.0, start_gap=0.0, on_hang=None):
    """Run each callable of @fns (name -> fn) in its own thread, each with a
    task_struct named after it.  If any has not finished after @timeout
    seconds the watchdog records which tasks were stuck where, makes every
    sleeper and parked task give up (abort_all), and joins them; a hang is
    reported, never kept.  @on_hang(names), if given, is called with the
    names still running just before the watchdog acts: what the model
    counts after that comes from tasks made to give up, not from the model."""
    run = ThreadRun()
    threads = {}
    t0 = time.monotonic()

    def body(name, fn):
        core.task_attach(name)
        try:
            run.results[name] = fn()
        except BaseException as e:  # recorded, reported by the caller
            run.errors[name] = "%s: %s" % (type(e).__name__, e)
        finally:
            core.task_detach()

    for name, fn in fns.items():
        th = threading.Thread(target=body, args=(name, fn), name=name, daemon=True)
        threads[name] = th
        th.start()
        if start_gap:
            time.sleep(start_gap)
    deadline = t0 + timeout
    for th in threads.values():
        th.join(max(0.0, deadline - time.monotonic()))
    alive = [n for n, th in threads.items() if th.is_alive()]
    if alive:
        if on_hang is not None:
            on_hang(alive)
        snapshot = {t["comm"]: t for t in core.tasks()}
        run.hung = [snapshot.get(n, {"comm": n, "pid": -1, "state": "?", "where": None,
                                     "page": None, "bit": None}) for n in alive]
        core.abort_all()
        for n in alive:
            threads[n].join(5.0)
        run.unrecoverable = [n for n in alive if threads[n].is_alive()]
        if not run.unrecoverable:
            core.clear_abort()
    run.elapsed = time.monotonic() - t0
    return run

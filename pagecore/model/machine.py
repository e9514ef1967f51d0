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


def _int(what, value):
    """@value as an int, or a TypeError that names @what: the C underneath would
    otherwise truncate a float or fail with "an integer is required"."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError("%s must be an int, not %s %r" % (what, type(value).__name__, value))
    return value


class Model:
    """One configured model: a page pool, a wait table and mappings running one
    variant's code, under the kernel's names.

    Pages are numbers (what alloc_page() and new_page() return); the page-flag
    bit numbers are attributes (m.PG_writeback, m.PG_waiters, ...).  The
    default build is the one the suites time: race points and event counters
    compile to nothing there, so events() needs instrumented=True, as do
    Interleaving and the touch checks behind bugs()["freed_page"].

    Creating a Model resets the build it configures (its pool and table are C
    globals, as the kernel's are): a second Model on the same build replaces
    the first.

    Example, a waiter and an end of writeback on real threads:

    >>> from pagecore import Model, run_threads
    >>> m = Model("original", instrumented=True)
    >>> page = m.new_page()             # allocated and in the page cache
    >>> m.start_writeback(page)         # lock_page; set_page_writeback; unlock_page
    >>> m.PageWriteback(page)
    True
    >>> run = run_threads(m, {"waiter": lambda: m.wait_on_page_writeback(page),
    ...                       "ender": lambda: m.end_page_writeback(page)}, timeout=5)
    >>> run.ok, m.PageWriteback(page), m.bugs()["bug_on"]
    (True, False, 0)
    >>> m.events()["atomic_rmw"] > 0    # counted by the instrumented build
    True
    """

    def __init__(self, variant="original", table_bits=8, npages=256, nmappings=8,
                 instrumented=False):
        from pagecore.model.variants import Variant

        if not isinstance(variant, (str, Variant)):
            raise TypeError("variant must be a variant's name or the path of a variant file, "
                            "not %s %r" % (type(variant).__name__, variant))
        variant = variant.name if isinstance(variant, Variant) else variant
        for what, value in (("table_bits", table_bits), ("npages", npages),
                            ("nmappings", nmappings)):
            _int(what, value)
        if not isinstance(instrumented, bool):
            raise TypeError("instrumented must be True or False, not %r" % (instrumented,))
        self.core = build(instrumented)
        self.core.configure(variant, table_bits, npages, nmappings)
        self.variant = variant
        self.instrumented = instrumented
        bits = self.core.page_bits()
        for name, bit in bits.items():
            setattr(self, name, bit)
        self._bits = bits

    def __repr__(self):
        return "Model(%r, %s build)" % (self.variant,
                                       "instrumented" if self.instrumented else "timed")

    def _bit(self, bit):
        """A page-flag bit by number, or by name ("PG_writeback")."""
        if isinstance(bit, str):
            if bit not in self._bits:
                raise ValueError("unknown page flag %r (known: %s)"
                                 % (bit, ", ".join(self._bits)))
            return self._bits[bit]
        return _int("bit_nr", bit)

    # pages and mappings
    def alloc_page(self):
        """alloc_page(): a free page's number, with one reference held by the caller."""
        pid = self.core.alloc_page_()
        if pid < 0:
            raise PagecoreError("out of pages")
        return pid

    def new_page(self, mapping=0, index=0):
        """alloc_page + add_to_page_cache: a page cache page with the
        allocation's reference still held by the caller."""
        pid = self.alloc_page()
        self.core.add_to_page_cache_(pid, _int("mapping", mapping), _int("index", index))
        return pid

    def info(self, page):
        """The page's flags word, refcount, generation, free, index, mapping and marks."""
        return self.core.page_info(_int("page", page))

    def flags(self, page):
        """The names of the flags set in page->flags."""
        return self.core.page_flags(_int("page", page))

    def page_count(self, page):
        """page_count(): the page's reference count."""
        return self.core.page_count(_int("page", page))

    def PageWriteback(self, page):
        """PageWriteback(page)."""
        return self.core.PageWriteback_(_int("page", page))

    def PageWaiters(self, page):
        """PageWaiters(page)."""
        return self.core.PageWaiters_(_int("page", page))

    def PageLocked(self, page):
        """PageLocked(page)."""
        return self.core.PageLocked_(_int("page", page))

    def PageDirty(self, page):
        """PageDirty(page)."""
        return self.core.PageDirty_(_int("page", page))

    def SetPageReclaim(self, page):
        """SetPageReclaim(page)."""
        self.core.SetPageReclaim(_int("page", page))

    def get_page(self, page):
        """get_page(): take a reference."""
        self.core.get_page_(_int("page", page))

    def put_page(self, page):
        """put_page(): drop a reference; the last one frees the page."""
        self.core.put_page_(_int("page", page))

    def add_to_page_cache(self, page, mapping=0, index=0):
        """add_to_page_cache(): the page enters @mapping at @index, with the cache's reference."""
        self.core.add_to_page_cache_(_int("page", page), _int("mapping", mapping),
                                     _int("index", index))

    def delete_from_page_cache(self, page):
        """delete_from_page_cache(): the page leaves its mapping and drops the cache's
        reference."""
        self.core.delete_from_page_cache_(_int("page", page))

    def truncate_inode_page(self, page):
        """truncate_inode_page(): lock_page, wait_on_page_writeback,
        delete_from_page_cache, unlock_page, put_page."""
        self.core.truncate_inode_page_(_int("page", page))

    def mapping_info(self, mapping=0):
        """The mapping's page count and its i_pages marks (dirty, writeback, towrite)."""
        return self.core.mapping_info(_int("mapping", mapping))

    # the page lock and writeback
    def lock_page(self, page):
        """lock_page(): sleeps while another task holds PG_locked."""
        self.core.lock_page_(_int("page", page))

    def trylock_page(self, page):
        """trylock_page(): True if it took PG_locked."""
        return self.core.trylock_page_(_int("page", page))

    def unlock_page(self, page):
        """unlock_page(): clears PG_locked and wakes the waiters on it."""
        self.core.unlock_page_(_int("page", page))

    def put_and_wait_on_page_locked(self, page):
        """put_and_wait_on_page_locked(): drop a reference and wait for PG_locked to clear."""
        self.core.put_and_wait_on_page_locked_(_int("page", page))

    def wait_on_page_bit(self, page, bit_nr):
        """wait_on_page_bit(): sleep until bit @bit_nr (a number, or a name such as
        "PG_writeback") of the page is clear."""
        self.core.wait_on_page_bit_(_int("page", page), self._bit(bit_nr))

    def set_page_writeback(self, page):
        """set_page_writeback(): the caller holds the page lock; True if it was set already."""
        return self.core.set_page_writeback_(_int("page", page))

    def end_page_writeback(self, page):
        """end_page_writeback(), as the variant writes it."""
        self.core.end_page_writeback_(_int("page", page))

    def wait_on_page_writeback(self, page):
        """wait_on_page_writeback(), as the variant writes it (an `if` or a `while`)."""
        self.core.wait_on_page_writeback_(_int("page", page))

    def start_writeback(self, page):
        """lock_page, set_page_writeback, unlock_page: how writeback starts."""
        page = _int("page", page)
        self.core.lock_page_(page)
        self.core.set_page_writeback_(page)
        self.core.unlock_page_(page)

    def write_cache_pages(self, page, start_writeback=True):
        """write_cache_pages() for one page: lock, wait for writeback, then (with
        @start_writeback) start a new one; True if BUG_ON(PageWriteback) fired after
        the wait."""
        return self.core.write_cache_pages_page(_int("page", page), bool(start_writeback))

    # the wait table
    def bucket_of(self, page):
        """The wait-table bucket the page hashes to (page_waitqueue())."""
        return self.core.bucket_of(_int("page", page))

    def bucket_len(self, bucket):
        """How many entries are queued in @bucket."""
        return self.core.bucket_len(_int("bucket", bucket))

    def park_colliding(self, page, n, bit_nr=-1):
        """Queue @n entries for other pages in the page's bucket (a chain to walk); the
        entries' count.  unpark_colliding() removes them."""
        return self.core.park_colliding(_int("page", page), _int("n", n), self._bit(bit_nr))

    def unpark_colliding(self):
        """Remove the entries park_colliding() queued."""
        self.core.unpark_colliding()

    # what happened
    def events(self):
        """Events counted since events_reset(): atomic RMWs, cmpxchg, barriers, lock round
        trips, entries walked, wakeups and sleeps.  Only the instrumented build counts:
        on the timed one this raises, rather than answer zeros."""
        if not self.instrumented:
            raise PagecoreError("events() needs the instrumented build: Model(%r, "
                                "instrumented=True); the timed build counts nothing"
                                % self.variant)
        return self.core.events()

    def events_reset(self):
        """Start counting events from zero (instrumented build)."""
        self.core.events_reset()

    def bugs(self):
        """How often each check fired: bug_on, freed_page, not_under_writeback, bad_page,
        lost_write (freed_page is checked by the instrumented build only)."""
        return self.core.bugs()

    def bug_log(self):
        """Each check that fired, in order: its kind, the task, the page and where."""
        return self.core.bug_log()

    def tasks(self):
        """The model's tasks: name, pid, state and where each waits."""
        return self.core.tasks()


class ThreadRun:
    """What run_threads() saw: per-thread results and errors, and the tasks
    that were stuck when the watchdog fired (empty when none hung).

    >>> from pagecore import Model, run_threads
    >>> m = Model("original", instrumented=True)
    >>> run = run_threads(m, {"one": lambda: 1, "two": lambda: 1 / 0})
    >>> run.results, run.errors, run.ok
    ({'one': 1}, {'two': 'ZeroDivisionError: division by zero'}, False)
    """

    def __init__(self):
        self.results = {}
        self.errors = {}
        self.hung = []
        self.unrecoverable = []
        self.elapsed = 0.0

    @property
    def ok(self):
        """No thread hung and none raised."""
        return not self.hung and not self.errors

    def describe_hang(self):
        """The stuck tasks in words: who, where, on which page and bit."""
        lines = []
        for t in self.hung:
            where = t.get("where") or "running"
            page = "" if t.get("page") is None else " page %s bit %s" % (t["page"], t["bit"])
            lines.append("%s (pid %d) stuck in %s, state %s%s"
                         % (t["comm"], t["pid"], where, t["state"], page))
        return "; ".join(lines)


def run_threads(model, fns, timeout=10.0, start_gap=0.0, on_hang=None):
    """Run each callable of @fns (name -> fn) in its own thread, each with a
    task_struct named after it, against @model (a Model, or its .core).  If
    any has not finished after @timeout seconds the watchdog records which
    tasks were stuck where, makes every sleeper and parked task give up
    (abort_all), and joins them; a hang is reported, never kept.
    @on_hang(names), if given, is called with the names still running just
    before the watchdog acts: what the model counts after that comes from
    tasks made to give up, not from the model.  Returns a ThreadRun.

    A lost wakeup, caught by the watchdog:

    >>> from pagecore import Model, run_threads
    >>> m = Model("original", instrumented=True)
    >>> page = m.new_page()
    >>> m.start_writeback(page)         # and nobody ever ends it
    >>> run = run_threads(m, {"waiter": lambda: m.wait_on_page_writeback(page)}, timeout=0.5)
    >>> [t["comm"] for t in run.hung], run.ok
    (['waiter'], False)
    """
    core = model.core if isinstance(model, Model) else model
    if not all(hasattr(core, f) for f in ("task_attach", "abort_all", "tasks")):
        raise TypeError("run_threads() runs against a Model (or its .core), not %s"
                        % type(model).__name__)
    if not isinstance(fns, dict) or not all(isinstance(n, str) and callable(f)
                                            for n, f in fns.items()):
        raise TypeError("fns must be a dict of thread name -> callable, not %r" % (fns,))
    for what, value in (("timeout", timeout), ("start_gap", start_gap)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise TypeError("%s must be a number of seconds >= 0, not %r" % (what, value))
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

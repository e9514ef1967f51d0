"""Scripted interleavings over real threads.

An Interleaving runs model operations on named threads (each with its own
task_struct, named after it) and orders them with the instrumented build's
race points.  Every step waits with a timeout and returns whether it got
what it waited for; when it did not, it writes down why (the task returned
without getting there, or is blocked, and where), so a variant that closes
a window is seen doing so instead of deadlocking the script.  What went
wrong comes only from the model: its bug counters and log (bug_on,
freed_page, not_under_writeback, bad_page, lost_write) and the watchdog of
finish() (hang).

    from pagecore import Model
    from pagecore.verify.interleaving import Interleaving

    m = Model("original", instrumented=True)
    page = m.new_page()
    m.start_writeback(page)
    with Interleaving(m) as s:
        s.start("cpu1", m.core.end_page_writeback_, page, park_at="ewb_after_clear")
        s.parked("cpu1", "ewb_after_clear")     # True: it waits there
        s.start("cpu2", m.core.write_cache_pages_in, page, 0, "start")
        s.done("cpu2")                          # True: the call returned
        s.start("cpu3", m.core.write_cache_pages_in, page, 0, "wait")
        s.asleep("cpu3", bit=m.PG_writeback)    # True: it sleeps on that bit
        s.release("ewb_after_clear")
        s.done("cpu1")
        s.done("cpu3")      # woken by cpu1's stale wake, with cpu2's writeback in flight
        s.start("cpu2-end", m.core.end_page_writeback_, page)
    print(s.outcome.failures, s.log)            # ['bug_on'], what each step saw

Steps:
  start(name, fn, *args, park_at=(), what=None)  run fn(*args) on a new thread;
      each race point in park_at is armed for that task alone before fn runs.
  parked(name, point)   until the task is parked at point; False if it
      returned without reaching it, or did not get there in time.
  done(name)            until fn returned; False if the task is asleep in the
      model (a short settle time) or still running after the timeout.
  asleep(name, bit=None, page=None)   until the task sleeps on a page bit.
  release(point)        let the tasks parked at point go on.
  note(text)            add a line to the log.
  result(name)          what fn returned (None while it runs).
  finish()              release every point still armed, then wait for every
      thread; the watchdog reports a task that never finishes as a hang and
      makes it give up (abort_all), so the run always completes.
Each wait takes timeout= (seconds; default: the Interleaving's step).
"""

import threading
import time

from pagecore._errors import PagecoreError

STEP = 1.0          # seconds a step waits before it calls a task blocked
SETTLE = 0.1        # a task stuck (asleep, parked, spinning) this long is not going anywhere;
                    # long enough that a thread the machine merely preempts is not taken for it
ELSEWHERE = 0.2     # ... and this long stuck somewhere other than where it is awaited
# A step must outlast those by a margin, or a task still on its way is taken
# for a blocked one and the script goes on without it; and must be short
# enough that a replay ends.
STEP_RANGE = (0.5, 60.0)


class Outcome:
    """What an interleaving did: failure kinds, counts, the bug log and the hang."""

    def __init__(self):
        self.bugs = {}
        self.bug_log = []
        self.hung = []
        self.failures = []
        self.ops = 0

    def as_counts(self):
        counts = {k: v for k, v in self.bugs.items() if v}
        if self.hung:
            counts["hang"] = 1
        return counts


class _Task:
    def __init__(self, name, what):
        self.name = name
        self.what = what
        self.pid = None
        self.thread = None
        self.attached = threading.Event()
        self.go = threading.Event()
        self.finished = threading.Event()
        self.result = None
        self.error = None
        self.reported = False


class Interleaving:
    """A scripted interleaving of model operations on real threads (the steps are
    listed in the module's docstring).  It needs the instrumented build.

    The race of c2407cf7d22d: cpu1 ends a writeback and is paused after the
    clear, before the wake; cpu2 starts a new writeback; cpu3 waits on it and
    is released by cpu1's stale wake with the new writeback in flight.

    >>> from pagecore import Interleaving, Model
    >>> m = Model("original", instrumented=True)
    >>> page = m.new_page()
    >>> m.start_writeback(page)
    >>> with Interleaving(m) as s:
    ...     _ = s.start("cpu1", m.core.end_page_writeback_, page, park_at="ewb_after_clear")
    ...     cpu1_parked = s.parked("cpu1", "ewb_after_clear")
    ...     _ = s.start("cpu2", m.core.write_cache_pages_in, page, 0, "start")
    ...     cpu2_done = s.done("cpu2")
    ...     _ = s.start("cpu3", m.core.write_cache_pages_in, page, 0, "wait")
    ...     cpu3_asleep = s.asleep("cpu3", bit=m.PG_writeback)
    ...     s.release("ewb_after_clear")
    ...     cpu1_done = s.done("cpu1")
    ...     cpu3_done = s.done("cpu3")
    ...     _ = s.start("cpu2-end", m.core.end_page_writeback_, page)
    >>> cpu1_parked, cpu2_done, cpu3_asleep, cpu1_done, cpu3_done
    (True, True, True, True, True)
    >>> s.outcome.failures
    ['bug_on']
    """

    def __init__(self, model, step=STEP, watchdog=5.0):
        self.m = model
        self.core = model.core
        if not model.instrumented:
            raise PagecoreError("an interleaving needs the instrumented build "
                                "(Model(..., instrumented=True))")
        if not ELSEWHERE < step <= STEP_RANGE[1]:
            raise PagecoreError("a step of %r s cannot tell a blocked task from a running one "
                                "(it must be in %g..%g)" % (step, ELSEWHERE, STEP_RANGE[1]))
        self.step = step
        self.watchdog = watchdog
        self.tasks = {}
        self.armed = {}         # point -> task name
        self.ever_armed = set()  # every point a task was started to pause at
        self.log = []
        self.outcome = None
        self._bits = {v: k for k, v in self.core.page_bits().items()}
        self._bugs0 = self.core.bugs()
        self._log0 = len(self.core.bug_log())

    # -- context -----------------------------------------------------------

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.finish()
        else:
            # An error or Ctrl-C in the script: leave no thread in the model.
            self.core.abort_all()
            for t in self.tasks.values():
                t.go.set()
                if t.thread is not None:
                    # not join(): a signal (SIGTERM is raised in the main thread) can cut
                    # Thread.start() short after the thread began, and join() then refuses
                    # it; the task's own event says when it is out of the model
                    t.finished.wait(5.0)
            if all(not t.thread.is_alive() for t in self.tasks.values() if t.thread):
                self.core.clear_abort()
        return False

    # -- helpers -----------------------------------------------------------

    def note(self, text):
        """Add a line of the script's own to the log."""
        self.log.append(text)

    def _task(self, name):
        try:
            return self.tasks[name]
        except KeyError:
            raise PagecoreError("no task %r in this interleaving" % name) from None

    def _label(self, t):
        return "%s (pid %s)" % (t.name, t.pid)

    def _snapshot(self, t):
        for info in self.core.tasks():
            if info["pid"] == t.pid:
                return info
        return None

    def where(self, name):
        """Where the task is now, in words."""
        t = self._task(name)
        if t.finished.is_set():
            return "finished"
        info = self._snapshot(t)
        if info is None:
            return "not started"
        return self._where(info)

    def _where(self, info):
        if info.get("where") in self.core.RACE_POINTS:
            return "parked at %s" % info["where"]
        if info.get("asleep"):
            bit = self._bits.get(info.get("bit"), info.get("bit"))
            return "asleep in %s on page %s %s" % (info.get("where"), info.get("page"), bit)
        if info.get("where") == "spin_lock":
            return "spinning on a held spinlock"
        if info.get("where"):
            return "in %s, not asleep" % info["where"]
        return "running"

    def _stuck(self, info):
        # asleep in the model, parked at a race point, or spinning on a lock
        return info is not None and (info.get("asleep") or info.get("where") == "spin_lock"
                                     or info.get("where") in self.core.RACE_POINTS)

    # -- steps -------------------------------------------------------------

    def start(self, name, fn, *args, park_at=(), what=None):
        """Run fn(*args) on a new thread named @name; @park_at: race point
        names armed for this task alone before it starts."""
        if name in self.tasks:
            raise PagecoreError("task %r already started" % name)
        if len(name.encode()) > 31:
            raise PagecoreError("task name %r longer than 31 bytes" % name)
        points = (park_at,) if isinstance(park_at, str) else tuple(park_at)
        for p in points:
            if p not in self.core.RACE_POINTS:
                raise PagecoreError("unknown race point %r (known: %s)"
                                    % (p, ", ".join(self.core.RACE_POINTS)))
            if p in self.armed:
                raise PagecoreError("race point %s is already armed for %s"
                                    % (p, self.armed[p]))
        t = _Task(name, what or getattr(fn, "__name__", "fn"))
        self.tasks[name] = t

        def body():
            t.pid = self.core.task_attach(name)
            t.attached.set()
            t.go.wait()
            try:
                t.result = fn(*args)
            except BaseException as e:  # reported in the log and the outcome
                t.error = "%s: %s" % (type(e).__name__, e)
            finally:
                self.core.task_detach()
                t.finished.set()

        t.thread = threading.Thread(target=body, name=name, daemon=True)
        t.thread.start()
        if not t.attached.wait(self.watchdog):
            raise PagecoreError("task %s did not start" % name)
        for p in points:
            self.core.rp_arm(p, 1, t.pid)
            self.armed[p] = name
            self.ever_armed.add(p)
        self.outcome = None
        t.go.set()
        self.note("%s: %s%s" % (self._label(t), t.what,
                                 " (to pause at %s)" % ", ".join(points) if points else ""))
        return t.pid

    def parked(self, name, point, timeout=None):
        """Wait until task @name is parked at race point @point."""
        t = self._task(name)
        deadline = time.monotonic() + (self.step if timeout is None else timeout)
        stuck_since = None
        while True:
            info = self._snapshot(t)
            if self.core.rp_parked(point) >= 1:
                if info is not None and info.get("where") == point:
                    self.note("%s: paused at %s" % (self._label(t), point))
                    return True
            if t.finished.is_set():
                self.note("%s: never reached %s: %s returned without passing it"
                          % (self._label(t), point, t.what))
                return False
            if self._stuck(info) and info.get("where") != point:
                stuck_since = stuck_since or time.monotonic()
                if time.monotonic() - stuck_since >= ELSEWHERE:
                    self.note("%s: blocked before %s: %s" % (self._label(t), point,
                                                            self._where(info)))
                    return False
            else:
                stuck_since = None
            if time.monotonic() > deadline:
                self.note("%s: blocked before %s: %s" % (self._label(t), point, self.where(name)))
                return False
            time.sleep(0.0005)

    def done(self, name, timeout=None):
        """Wait until task @name's call has returned."""
        t = self._task(name)
        deadline = time.monotonic() + (self.step if timeout is None else timeout)
        asleep_since = None
        while True:
            if t.finished.wait(0.001):
                if not t.reported:
                    t.reported = True
                    self.note(("%s: returned %s" % (self._label(t), self._result(t))).rstrip())
                return True
            info = self._snapshot(t)
            now = time.monotonic()
            if self._stuck(info):
                asleep_since = asleep_since or now
                if now - asleep_since >= SETTLE:
                    self.note("%s: blocked: %s" % (self._label(t), self._where(info)))
                    return False
            else:
                asleep_since = None
            if now > deadline:
                self.note("%s: blocked: %s after %.1f s" % (self._label(t), self.where(name),
                                                           self.step if timeout is None
                                                           else timeout))
                return False

    def asleep(self, name, bit=None, page=None, timeout=None):
        """Wait until task @name sleeps on a page bit (@bit, @page if given)."""
        t = self._task(name)
        deadline = time.monotonic() + (self.step if timeout is None else timeout)
        other_since = None
        while True:
            info = self._snapshot(t)
            now = time.monotonic()
            if (info is not None and info.get("asleep")
                    and (bit is None or info.get("bit") == bit)
                    and (page is None or info.get("page") == page)):
                self.note("%s: %s" % (self._label(t), self._where(info)))
                return True
            if self._stuck(info):
                # asleep on another bit (the page lock, say), or spinning,
                # and staying so
                other_since = other_since or now
                if now - other_since >= ELSEWHERE:
                    self.note("%s: blocked: %s" % (self._label(t), self._where(info)))
                    return False
            else:
                other_since = None
            if t.finished.is_set():
                t.reported = True
                self.note("%s: returned %s without sleeping" % (self._label(t), self._result(t)))
                return False
            if time.monotonic() > deadline:
                self.note("%s: not asleep on the page bit: %s" % (self._label(t),
                                                                  self.where(name)))
                return False
            time.sleep(0.0005)

    def woken(self, name, point="wait_after_schedule", timeout=None):
        """If task @name, a sleeper with @point armed for it, has been woken
        (it is no longer asleep), wait for it at @point, let it go and let it
        run as far as it gets (done()).  False if it is still asleep, or
        @point is not armed for it any more."""
        t = self._task(name)
        if self.armed.get(point) != name:
            return False
        deadline = time.monotonic() + (self.step if timeout is None else timeout)
        while True:
            info = self._snapshot(t)
            if info is not None and info.get("where") == point:
                self.note("%s: woken, paused at %s; it goes on" % (self._label(t), point))
                self.release(point)
                self.done(name)
                return True
            if t.finished.is_set() or (info is not None and info.get("asleep")):
                return False
            if time.monotonic() > deadline:
                return False
            time.sleep(0.0005)

    def release(self, point):
        """Let the task parked at @point go on."""
        self.core.rp_release(point)
        name = self.armed.pop(point, None)
        self.note("release %s%s" % (point, " (%s)" % name if name else ""))

    def result(self, name):
        """What task @name's call returned (None while it runs)."""
        return self._task(name).result

    def finished(self, name):
        """Whether task @name's call has returned."""
        return self._task(name).finished.is_set()

    def _result(self, t):
        if t.error:
            return "with an error: %s" % t.error
        return "" if t.result is None else repr(t.result)

    # -- the end -----------------------------------------------------------

    def finish(self):
        """Release every armed point and wait for every thread; a thread
        that does not finish within the watchdog's time is a hang."""
        if self.outcome is not None:
            return self.outcome
        for point in list(self.armed):
            self.release(point)
        deadline = time.monotonic() + self.watchdog
        for t in self.tasks.values():
            t.thread.join(max(0.0, deadline - time.monotonic()))
        alive = [t for t in self.tasks.values() if t.thread.is_alive()]
        out = Outcome()
        # Bugs are counted before the watchdog acts: a sleeper it makes give
        # up returns early, and what it trips over then is not the model's.
        bugs = self.core.bugs()
        out.bugs = {k: bugs[k] - self._bugs0.get(k, 0) for k in bugs}
        out.bug_log = self.core.bug_log()[self._log0:]
        if alive:
            for t in alive:
                info = self._snapshot(t)
                where = self._where(info) if info else "unknown"
                out.hung.append("%s never finished %s: %s" % (self._label(t), t.what, where))
                self.note("watchdog: %s" % out.hung[-1])
            self.core.abort_all()
            for t in alive:
                t.go.set()
                t.thread.join(5.0)
            if any(t.thread.is_alive() for t in alive):
                raise PagecoreError("tasks did not give up after the watchdog: "
                                    + ", ".join(t.name for t in alive if t.thread.is_alive()))
            self.core.clear_abort()
        for t in self.tasks.values():
            if t.error:
                self.note("%s: error: %s" % (self._label(t), t.error))
        out.failures = [k for k, v in out.bugs.items() if v] + (["hang"] if out.hung else [])
        out.ops = len(self.tasks)
        self.outcome = out
        return out

    def describe_bugs(self):
        """The model's checks that fired during the interleaving, in words."""
        return [describe_bug(r, self._bits) for r in (self.outcome or self.finish()).bug_log]


# ---------------------------------------------------------------------------
# Reading the bug log
# ---------------------------------------------------------------------------

def flag_names(flags, bits):
    return "|".join(bits[b] for b in sorted(bits) if flags >> b & 1) or "0"


def bits_of(bits, name):
    return next(b for b, n in bits.items() if n == name)


def describe_bug(rec, bits):
    """One bug_log record in words."""
    who = "task %s (pid %s)" % (rec["comm"], rec["pid"])
    page = rec.get("page")
    kind = rec["kind"]
    if kind == "bug_on":
        return ("%s hit BUG_ON(PageWriteback) in %s after wait_on_page_writeback: page %s "
                "flags %s" % (who, rec["site"], page, flag_names(rec["a"], bits)))
    if kind == "freed_page":
        if rec["a"] != rec["b"]:
            return ("%s touched page %s in %s after it was freed and allocated again "
                    "(generation %d when its end_page_writeback began, %d now)"
                    % (who, page, rec["site"], rec["a"], rec["b"]))
        return "%s touched page %s in %s after it was freed" % (who, page, rec["site"])
    if kind == "not_under_writeback":
        return "%s: %s found PG_writeback already clear on page %s" % (who, rec["site"], page)
    if kind == "bad_page":
        return ("%s freed page %s with %s set (bad_page): the page went while it was "
                "still %s" % (who, page, flag_names(rec["a"], bits),
                              "under writeback" if rec["a"] >> bits_of(bits, "PG_writeback") & 1
                              else "locked"))
    if kind == "lost_write":
        return ("%s: page %s buffer %d: the user wrote version %d through the mapping, the "
                "disk holds version %d, and nothing marks the page dirty any more (PTEs "
                "clean, PG_dirty clear, buffers clean): the write is lost"
                % (who, page, rec["a"], rec["b"] >> 32, rec["b"] & 0xffffffff))
    return "%s: %s on page %s in %s" % (who, kind, page, rec["site"])

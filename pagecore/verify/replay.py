"""Replay of the three races: each a script of Interleavings
(pagecore/verify/interleaving.py) that parks a task in a named window the
variant places, lets the others act, then releases it.  What went wrong
comes from the model's own records, never from the script.
"""

from pagecore._errors import PagecoreError
from pagecore.model.machine import Model
from pagecore.verify.interleaving import STEP, Interleaving

# Where an end of writeback can be paused with PG_writeback clear (or about
# to be) and the wake not yet done; which of them a variant's code passes is
# the variant's business, and each replay says which it never reached.
EWB_WINDOWS = ("ewb_under_i_pages", "ewb_after_clear", "wake_before_clear", "wake_after_clear")
# Where a woken waiter is held until the script lets it look at the bit.
WOKEN = "wait_after_schedule"
# Where an end of writeback has found PG_waiters clear and not yet cleared
# PG_writeback (clear-under-waitqueue-lock takes the bucket lock only when
# PG_waiters is set): a waiter that queues here is one it did not see.
WAITERS_TESTED = "ewb_waiters_tested"


class Run:
    """One interleaving of a scenario: its title, log, outcome and bug lines."""

    def __init__(self, title, s):
        self.title = title
        self.outcome = s.finish()
        self.log = list(s.log)
        self.bugs = s.describe_bugs()
        self.failures = list(self.outcome.failures)
        # a task of the script that raised: the interleaving did not run as written
        self.errors = ["%s: %s" % (t.name, t.error) for t in s.tasks.values() if t.error]
        self.armed = set(s.ever_armed)

    def evidence(self):
        return ["interleaving: %s" % self.title] + self.log + self.bugs


def _wcp(core, mapping, how):
    def fn(page):
        return core.write_cache_pages_in(page, mapping, how)[0]
    fn.__name__ = "write_cache_pages_in"
    return fn


def writeback_set_again(variant, window, waiter_first=False, bystander=False, step=STEP,
                        writeback_tags=True, bystander_late=False):
    """The race of c2407cf7d22d, writeback set again.  cpu1 ends the first writeback and is paused
    at @window; cpu2, write_cache_pages, starts a new writeback under the
    page lock; cpu3, write_cache_pages, waits for writeback (after cpu2 or,
    with @waiter_first, already before cpu1); with @bystander a task in
    filemap_fdatawait waits on the first writeback, so PG_waiters is set
    when cpu1 ends it; with @bystander_late it starts waiting only after
    cpu1 found PG_waiters clear (paused at ewb_waiters_tested, where a
    variant tests it apart from the clear), and before the clear.  cpu1
    resumes; then cpu2's writeback is ended."""
    m = Model(variant, instrumented=True, npages=16)
    c = m.core
    c.set_mapping_writeback_tags(0, writeback_tags)
    page = m.new_page(0, 0)
    m.start_writeback(page)
    wb = m.PG_writeback
    title = "cpu1 paused at %s%s%s%s%s" % (
        window, "; cpu3 waiting before cpu1 ends writeback" if waiter_first else "",
        "; a filemap_fdatawait waiter on the first writeback" if bystander else "",
        "; a filemap_fdatawait waiter queued after cpu1 tested PG_waiters, before the "
        "clear" if bystander_late else "",
        "" if writeback_tags else "; a mapping without writeback tags (swap)")
    wcp_wait, wcp_start = _wcp(c, 0, "wait"), _wcp(c, 0, "start")
    cpu3 = "cpu3-write_cache_pages"
    with Interleaving(m, step=step) as s:
        s.note("page %d in the page cache, under writeback (lock_page; set_page_writeback; "
               "unlock_page)" % page)
        if bystander:
            s.start("cpu0-fdatawait", m.wait_on_page_writeback, page,
                    what="filemap_fdatawait: wait_on_page_writeback")
            s.asleep("cpu0-fdatawait", bit=wb)
        if waiter_first:
            s.start(cpu3, wcp_wait, page, park_at=WOKEN,
                    what="write_cache_pages: lock_page; wait_on_page_writeback")
            s.asleep(cpu3, bit=wb)
        points = (WAITERS_TESTED, window) if bystander_late else window
        s.start("cpu1-end_page_writeback", c.end_page_writeback_, page, park_at=points,
                what="end_page_writeback")
        if bystander_late:
            if s.parked("cpu1-end_page_writeback", WAITERS_TESTED):
                s.start("cpu0-fdatawait", m.wait_on_page_writeback, page,
                        what="filemap_fdatawait: wait_on_page_writeback")
                s.asleep("cpu0-fdatawait", bit=wb)
                s.release(WAITERS_TESTED)
            else:
                s.release(WAITERS_TESTED)
        opened = s.parked("cpu1-end_page_writeback", window)
        if opened:
            s.note("PG_writeback is %s while cpu1 waits" % ("set" if m.PageWriteback(page)
                                                            else "clear"))
        if waiter_first:
            s.woken(cpu3)       # if cpu1's walk woke it, it looks at the bit now
        s.start("cpu2-write_cache_pages", wcp_start, page,
                what="write_cache_pages: lock_page; wait_on_page_writeback; "
                     "set_page_writeback; unlock_page")
        cpu2 = s.done("cpu2-write_cache_pages")
        if cpu2 and s.result("cpu2-write_cache_pages") == "started":
            s.note("PG_writeback set again by cpu2-write_cache_pages%s"
                   % (" while cpu1 is paused" if opened else ""))
        elif opened and not cpu2:
            s.note("window closed: cpu2 cannot start a writeback while cpu1 waits at %s (%s)"
                   % (window, s.where("cpu2-write_cache_pages")))
        if not waiter_first:
            s.start(cpu3, wcp_wait, page, park_at=WOKEN,
                    what="write_cache_pages: lock_page; wait_on_page_writeback")
            if not s.asleep(cpu3, bit=wb) and opened and cpu2:
                s.note("window closed: cpu3 does not wait on the new writeback while cpu1 "
                       "waits at %s (%s)" % (window, s.where(cpu3)))
        if opened:
            s.release(window)
        s.done("cpu1-end_page_writeback")
        s.woken(cpu3)
        if s.done(cpu3):
            s.note(_cpu3_returned(c, cpu3, s.result("cpu2-write_cache_pages")))
        s.done("cpu2-write_cache_pages")
        if s.result("cpu2-write_cache_pages") == "started":
            s.start("cpu2-end_page_writeback", c.end_page_writeback_, page,
                    what="end_page_writeback of cpu2's writeback")
            s.done("cpu2-end_page_writeback")
        s.done(cpu3)
    return Run(title, s)


def _cpu3_returned(c, cpu3, cpu2_result):
    # What cpu3 returned to, from the run: the model's BUG_ON record for it,
    # and whether cpu2 had started a writeback by then.
    hit = any(r["kind"] == "bug_on" and r["comm"] == cpu3 for r in c.bug_log())
    if not hit:
        return "cpu3 returned from wait_on_page_writeback with PG_writeback clear"
    if cpu2_result == "started":
        return ("cpu3 returned from wait_on_page_writeback with cpu2's new writeback in "
                "flight, before it ended")
    return ("cpu3 returned from wait_on_page_writeback with PG_writeback still set, though "
            "cpu2 had started no writeback: the bit was the first writeback's, not yet "
            "cleared when the wake came (no second writer)")


def page_reuse(variant, window, truncate_first=False, step=STEP):
    """The race of 073861ed77b6, a page freed and reused.  cpu1 ends writeback and is paused at
    @window; cpu2 truncates the page (before cpu1 with @truncate_first,
    asleep on the writeback; else after the clear) and drops the last
    references; cpu3, a new user, alloc_page()s (LIFO: the page just freed
    comes back), adds it to another file and starts writeback on it; cpu4,
    write_cache_pages on the new file, waits for that writeback.  cpu1
    resumes; then cpu3's writeback is ended."""
    m = Model(variant, instrumented=True, npages=16)
    c = m.core
    wb = m.PG_writeback
    # The allocation's reference stands for the truncator's find_get_page().
    page = m.new_page(0, 0)
    m.start_writeback(page)
    gen0 = c.page_info(page)["gen"]
    title = "cpu1 paused at %s%s" % (window, "; truncation waiting on the writeback first"
                                     if truncate_first else "")
    wcp_wait, wcp_start = _wcp(c, 1, "wait"), _wcp(c, 1, "start")
    newpage = []

    def new_user():
        q = c.alloc_page_()
        if q < 0:
            raise PagecoreError("out of pages")
        newpage.append(q)
        c.add_to_page_cache_(q, 1, 0)
        return q, wcp_start(q)
    new_user.__name__ = "alloc_page; add_to_page_cache; write_cache_pages (start writeback)"

    with Interleaving(m, step=step) as s:
        s.note("page %d (generation %d) in file 0, under writeback; the page cache and the "
               "truncator hold its only references" % (page, gen0))
        trunc = "truncate_inode_page: lock_page; wait_on_page_writeback; " \
                "delete_from_page_cache; unlock_page; put_page"
        if truncate_first:
            s.start("cpu2-truncate", c.truncate_inode_page_, page, park_at=WOKEN, what=trunc)
            s.asleep("cpu2-truncate", bit=wb)
        s.start("cpu1-end_page_writeback", c.end_page_writeback_, page, park_at=window,
                what="end_page_writeback")
        opened = s.parked("cpu1-end_page_writeback", window)
        if not truncate_first:
            s.start("cpu2-truncate", c.truncate_inode_page_, page, what=trunc)
        else:
            s.woken("cpu2-truncate")    # if cpu1's walk woke it, it goes on now
        if s.done("cpu2-truncate"):
            info = c.page_info(page)
            s.note("after truncation page %d has %d references and is %s"
                   % (page, info["refcount"], "free" if info["free"] else "not freed"))
        elif opened:
            s.note("window closed: the truncation cannot finish while cpu1 waits at %s (%s)"
                   % (window, s.where("cpu2-truncate")))
        s.start("cpu3-new_user", new_user, what=new_user.__name__)
        s.done("cpu3-new_user")
        if newpage:
            q = newpage[0]
            info = c.page_info(q)
            if q == page:
                s.note("alloc_page gave page %d back: the truncated page, generation %d -> %d"
                       % (q, gen0, info["gen"]))
            else:
                s.note("alloc_page gave page %d (page %d was not free)" % (q, page))
            if s.armed.get(WOKEN):
                s.release(WOKEN)
            s.start("cpu4-write_cache_pages", wcp_wait, q, park_at=WOKEN,
                    what="write_cache_pages on file 1: lock_page; wait_on_page_writeback")
            s.asleep("cpu4-write_cache_pages", bit=wb)
        if opened:
            s.release(window)
        s.done("cpu1-end_page_writeback")
        if newpage:
            s.woken("cpu4-write_cache_pages")
        if newpage and s.done("cpu4-write_cache_pages"):
            res = s.result("cpu3-new_user")
            hit = any(r["kind"] == "bug_on" and r["comm"] == "cpu4-write_cache_pages"
                      for r in c.bug_log())
            s.note("cpu4 returned from wait_on_page_writeback %s" % (
                "with PG_writeback clear" if not hit else
                "with the new user's writeback in flight, before cpu3 ended it"
                if res and res[1] == "started" else "with PG_writeback set"))
        s.done("cpu2-truncate")
        s.done("cpu3-new_user")
        res = s.result("cpu3-new_user")
        if res and res[1] == "started":
            s.start("cpu3-end_page_writeback", c.end_page_writeback_, res[0],
                    what="end_page_writeback of the new user's writeback")
            s.done("cpu3-end_page_writeback")
        if newpage:
            s.done("cpu4-write_cache_pages")
    return Run(title, s)


def mmap_lost_write(variant, in_window=False, step=STEP, nbuffers=4):
    """The race of 7658cc289288, a lost mmap write.  A page of a file with
    @nbuffers buffers is mapped shared and writable.  The user stores into
    buffer 1 (the write fault dirties the page and every buffer); the
    filesystem writes buffer 1 itself (ll_rw_block); the user stores into
    buffer 1 again; write_cache_pages writes the page; then the page is
    checked against the disk.  With @in_window the flush and the second
    store happen while writeback is paused inside clear_page_dirty_for_io."""
    m = Model(variant, instrumented=True, npages=8)
    c = m.core
    c.dirty_configure(nbuffers, 1)
    page = m.new_page(0, 0)
    c.create_page_buffers_(page)
    c.do_no_page_(0, page, False)
    title = ("flush and second store while writeback is paused in clear_page_dirty_for_io"
             if in_window else "flush and second store before writeback")

    def store(value):
        def fn():
            return c.mmap_write(0, page, 1, value)
        fn.__name__ = "store version %d into buffer 1 through the mapping" % value
        return fn

    def faults(s, name):
        n = s.result(name)
        if n == 0:
            s.note("no fault: the PTE was writable; the CPU set its dirty bit, no buffer "
                   "was marked")
        elif n:
            s.note("write fault: do_wp_page made the PTE writable and dirty, set_page_dirty "
                   "marked every buffer dirty")

    def flush():
        return c.ll_rw_block_write_(page, 1)
    flush.__name__ = "the filesystem writes buffer 1 itself (ll_rw_block(WRITE))"

    with Interleaving(m, step=step) as s:
        s.note("page %d: %d clean buffers, contents as on disk, mapped read-only by a "
               "shared writable vma" % (page, nbuffers))
        s.start("user-store-1", store(1))
        s.done("user-store-1")
        faults(s, "user-store-1")
        if in_window:
            s.start("writeback", c.write_cache_pages_in, page, 0, "write", park_at="cpdfio_mid",
                    what="write_cache_pages: lock_page; clear_page_dirty_for_io; "
                         "__block_write_full_page")
            s.parked("writeback", "cpdfio_mid")
        s.start("jbd-flush", flush)
        s.done("jbd-flush")
        s.start("user-store-2", store(2))
        s.done("user-store-2")
        faults(s, "user-store-2")
        if in_window:
            s.release("cpdfio_mid")
        else:
            s.start("writeback", c.write_cache_pages_in, page, 0, "write",
                    what="write_cache_pages: lock_page; clear_page_dirty_for_io; "
                         "__block_write_full_page")
        if s.done("writeback") and s.result("writeback")[0] == "written":
            s.note("__block_write_full_page wrote %d of the %d buffers: the ones marked dirty"
                   % (s.result("writeback")[1], nbuffers))
        st = c.dirty_state(page)
        s.note("after writeback: PG_dirty %s, PTE %s, dirty buffers %s; page %s, disk %s"
               % ("set" if st["PG_dirty"] else "clear",
                  "dirty" if st["ptes"][0]["dirty"] else "clean",
                  [i for i, b in enumerate(st["buffers"]) if b["dirty"]] or "none",
                  [b["data"] for b in st["buffers"]], [b["disk"] for b in st["buffers"]]))
        if st["ptes"][0]["dirty"] and not st["PG_dirty"]:
            s.note("the page is mapped dirty with PG_dirty clear (the FIXME in 7658cc289288)")
        s.start("verify", c.check_lost_write_, page,
                what="check_lost_write: is what the user wrote on disk, or still dirty?")
        s.done("verify")
    return Run(title, s)


def _writeback_runs(fn, variant, step, flags):
    runs = []
    for flag in flags:
        for window in EWB_WINDOWS:
            runs.append(fn(variant, window, step=step, **flag))
    return runs


SCENARIOS = {
    "writeback-set-again": lambda v, step: _writeback_runs(
        writeback_set_again, v, step,
        # Swap has no writeback tags: __test_set_page_writeback() then sets
        # the bit without the i_pages lock, so a variant that closes the
        # race only by holding that lock leaves it open there.
        [{}, {"waiter_first": True}, {"bystander": True}, {"writeback_tags": False}])
    # a waiter between a PG_waiters test and the clear: only where the two
    # are apart (clear-under-waitqueue-lock) does cpu1 stop there
    + [writeback_set_again(v, "ewb_after_clear", step=step, bystander_late=True)],
    "page-reuse": lambda v, step: _writeback_runs(
        page_reuse, v, step, [{}, {"truncate_first": True}]),
    "mmap-lost-write": lambda v, step: [mmap_lost_write(v, False, step),
                                        mmap_lost_write(v, True, step)],
}


def replay(variant, scenario, step=STEP, steps=False):
    """Every interleaving of @scenario against @variant: one verify result.
    With @steps, "interleavings" holds every interleaving's steps, the clean
    ones' too (`pagecore verify -v` prints them)."""
    runs = SCENARIOS[scenario](variant, step)
    failures, counts = [], {"runs": len(runs), "ops": sum(r.outcome.ops for r in runs)}
    for r in runs:
        for k, v in r.outcome.as_counts().items():
            counts[k] = counts.get(k, 0) + v
        failures.extend(f for f in r.failures if f not in failures)
    evidence = []
    for r in runs:
        if r.failures:
            evidence.extend(r.evidence())
            evidence.extend(r.outcome.bug_log)
    notes = _notes(runs)
    out = {"variant": variant, "scenario": scenario, "mode": "replay",
           "failures": failures, "counts": counts,
           "evidence": evidence + notes if failures else notes}
    if steps:
        out["interleavings"] = [{"title": r.title, "failures": r.failures, "log": r.log}
                                for r in runs]
    # The windows a variant file places itself (pagecore_window()): one the
    # scripts pause at that the file never places cannot open, and a clean
    # cell whose file places none of them is not clean but unknown.
    from pagecore import registry
    from pagecore.model import compose
    from pagecore.model.variants import get_variant

    own = {w.name for w in registry.windows() if w.where != "primitive"}
    armed = {w for r in runs for w in r.armed if w in own}
    placed = compose.windows_placed(get_variant(variant).composed())
    unplaced = sorted(armed - placed)
    if unplaced:
        out["unplaced"] = unplaced
        line = ("the variant places no pagecore_window() for %s: replay cannot pause there"
                % ", ".join(unplaced))
        notes.append(line)
        if out["evidence"] is not notes:
            out["evidence"].append(line)
    # the last lines of the evidence say what each interleaving came to (the report
    # tells them apart from the stories before them)
    out["outcomes"] = len(notes)
    errors = [e for r in runs for e in r.errors]
    if armed and not (armed & placed) and not failures:
        out["inconclusive"] = ("no window the interleavings pause at is placed (%s): mark "
                               "them with pagecore_window()" % ", ".join(sorted(armed)))
        out["evidence"] = ["inconclusive: " + out["inconclusive"]] + notes
    elif errors and not failures:
        # not a verdict: the harness did not run every interleaving as scripted
        out["inconclusive"] = "a scripted task failed: " + "; ".join(errors[:3])
        out["evidence"] = ["inconclusive: " + out["inconclusive"]] + out["evidence"]
    return out


def _notes(runs):
    # What every interleaving came to, in one line each, so that a clean cell
    # says which windows the variant never opened or kept shut.
    out = []
    for r in runs:
        extra = [ln.split(": ", 1)[1] for ln in r.log if "never reached" in ln]
        extra += ["blocked: " + ln for ln in r.log if ln.startswith("window closed")]
        extra += [ln for ln in r.log if ln.startswith("watchdog") or "FIXME" in ln]
        what = ", ".join(r.failures) if r.failures else "clean"
        out.append("%s: %s%s" % (r.title, what, "; " + "; ".join(extra) if extra else ""))
    return out

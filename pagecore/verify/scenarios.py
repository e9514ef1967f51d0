"""The explorer's scenarios, as data: tasks as sequences of kernel operations.

A scenario is a list of setups; a setup says how the model starts (which
pages exist, in which mapping, under writeback, with which references) and
which tasks then run, each a list of kernel operations on named page slots
("P", "Q", ...).  `pagecore verify --mode explore` runs every schedule of
the tasks within the preemption bound, for every variant the scenario
applies to (Variant.scenarios in pagecore/model/variants.py); nothing here
says what ought to go wrong, the model's own checks do.

To add a scenario: add an entry to SCENARIOS below (name -> Scenario), list
its name in the `scenarios` of the variants it applies to, and run
`pagecore verify --mode explore --scenario NAME`.  No other code changes.

Setup steps (run before the tasks, on one thread, not explored):
    ("page", S, mapping, index)   alloc_page + add_to_page_cache into slot S;
                                  the allocation's reference stays held
    ("start_writeback", S)        lock_page; set_page_writeback; unlock_page
    ("get_page", S) / ("put_page", S)
    ("no_writeback_tags", mapping)  the mapping is swap-like: no writeback
                                  tags, so __test_set_page_writeback() takes
                                  no i_pages lock
    ("buffers", S, nbuffers)      create_page_buffers (the dirty path)
    ("map", vma, S)               do_no_page: map S read-only in vma
Task operations (each a scheduling-point-rich call into the model):
    ("end_page_writeback", S)
    ("end_page_writeback", S, "started")     the I/O completion of the writeback
        this task's last write_cache_pages started; skipped if it started none
    ("write_cache_pages", S, mapping, how)   how: "start" (set writeback),
        "wait" (only wait; BUG_ON(PageWriteback) after the wait is checked
        either way) or "write" (the dirty path)
    ("wait_on_page_writeback", S)            filemap_fdatawait's wait
    ("truncate_inode_page", S)               drops the caller's reference
    ("lock_page", S), ("unlock_page", S), ("set_page_writeback", S)
    ("get_page", S), ("put_page", S), ("delete_from_page_cache", S)
    ("alloc_page", S)                        binds slot S (LIFO: a page
                                             just freed comes back first)
    ("add_to_page_cache", S, mapping, index)
    ("find_get_page", S, mapping, index)     binds S to the page there, with a
                                             reference, or to nothing
    ("mmap_store", S, vma, buffer, value)    a user store through the mapping
    ("ll_rw_block", S, buffer)               the filesystem writes one buffer
    ("check_lost_write", S)                  sync and verify the page
An operation on a slot that is bound to nothing (find_get_page found no
page) is skipped, as the kernel skips a page its lookup did not return.
"""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Setup:
    title: str
    tasks: tuple          # ((name, ((op, args...), ...)), ...)
    setup: tuple = ()
    npages: int = 4
    dirty: tuple = ()     # (nbuffers, nvmas) for the dirty path


@dataclass(frozen=True)
class Scenario:
    name: str
    summary: str
    cite: str
    setups: tuple = field(default=())


def _set_again(title, setup, waiter_first=False):
    # Seed race 1 (c2407cf7d22d): cpu1 ends writeback; cpu2, write_cache_pages,
    # starts the next one under the page lock (and its I/O completes later);
    # cpu3, write_cache_pages, waits for writeback and checks BUG_ON.
    cpu3 = ("cpu3", (("write_cache_pages", "P", 0, "wait"),))
    tasks = (("cpu1", (("end_page_writeback", "P"),)),
             ("cpu2", (("write_cache_pages", "P", 0, "start"),
                       ("end_page_writeback", "P", "started"))),
             cpu3)
    return Setup(title, tasks, setup)


def _truncation_racing(where, setup, fdatawait=False):
    # cpu1 ends writeback; cpu2 (with its own reference, as a pagevec lookup
    # gives) starts the next one and its I/O completes later; cpu3 truncates
    # the page, holding the reference the setup's allocation stands for.
    tasks = (("cpu1", (("end_page_writeback", "P"),)),
             ("cpu2", (("find_get_page", "W", 0, 0),
                       ("write_cache_pages", "W", 0, "start"),
                       ("put_page", "W"),
                       ("end_page_writeback", "W", "started"))),
             ("cpu3", (("truncate_inode_page", "P"),)))
    if fdatawait:
        tasks += (("cpu0", (("find_get_page", "F", 0, 0),
                            ("wait_on_page_writeback", "F"),
                            ("put_page", "F"))),)
    return Setup("truncation racing a new writeback: " + where, tasks, setup)


_FILE_PAGE = (("page", "P", 0, 0), ("start_writeback", "P"))
_BYSTANDER = (("cpu1", (("end_page_writeback", "P"),)),
              ("cpu2", (("write_cache_pages", "P", 0, "start"),
                        ("end_page_writeback", "P", "started"))),
              ("cpu3", (("write_cache_pages", "P", 0, "wait"),)),
              ("cpu0", (("wait_on_page_writeback", "P"),)))

SCENARIOS = {s.name: s for s in [
    Scenario(
        "writeback-set-again",
        "end_page_writeback clears PG_writeback; before its wake, another writeback "
        "starts and a waiter sleeps on it; the stale wake releases the waiter",
        "c2407cf7d22d (Linus Torvalds, Jan 2021)",
        (_set_again("a file page", _FILE_PAGE),
         # swap: mapping_set_no_writeback_tags(), so __test_set_page_writeback()
         # sets the bit without the i_pages lock
         _set_again("a page of a mapping without writeback tags (swap)",
                    (("no_writeback_tags", 0),) + _FILE_PAGE),
         # a filemap_fdatawait waiter on the first writeback: PG_waiters is set
         # when cpu1 ends it, so its wake walks the queue
         Setup("a file page with a filemap_fdatawait waiter on the first writeback",
               _BYSTANDER, _FILE_PAGE))),
    Scenario(
        "page-reuse",
        "end_page_writeback holds no page reference: truncation frees the page, a "
        "new user allocates it and starts writeback, the stale wake touches it",
        "073861ed77b6 (Hugh Dickins, Nov 2020)",
        (
            # Seed race 2: the truncator holds the allocation's reference.
            Setup("truncation and a new user of the freed page",
                  (("cpu1", (("end_page_writeback", "P"),)),
                   ("cpu2", (("truncate_inode_page", "P"),)),
                   ("cpu3", (("alloc_page", "Q"), ("add_to_page_cache", "Q", 1, 0),
                             ("write_cache_pages", "Q", 1, "start"),
                             ("end_page_writeback", "Q", "started"))),
                   ("cpu4", (("find_get_page", "R", 1, 0),
                             ("write_cache_pages", "R", 1, "wait"),
                             ("put_page", "R")))),
                  _FILE_PAGE),
            # The stress workload's other path to a failure: a writer starts
            # writeback again while cpu1's wake is pending, and truncation,
            # which waits with an `if`, is released by that wake.
            _truncation_racing("a file page", _FILE_PAGE),
            _truncation_racing("a page of a mapping without writeback tags (swap)",
                               (("no_writeback_tags", 0),) + _FILE_PAGE),
            # With a filemap_fdatawait waiter on the first writeback, PG_waiters
            # is set when cpu1 clears it: a variant that takes a reference or
            # wakes only when it sees waiters does so here.
            _truncation_racing("a file page with a filemap_fdatawait waiter", _FILE_PAGE,
                               fdatawait=True),
            # The workload's writers and waiters among themselves: the page-reuse
            # workload runs the set-again race's tasks too.
            Setup("the writers and waiters of the workload, a filemap_fdatawait waiter",
                  _BYSTANDER, _FILE_PAGE),
            _set_again("the writers and waiters of the workload on swap",
                       (("no_writeback_tags", 0),) + _FILE_PAGE),
        )),
    Scenario(
        "mmap-lost-write",
        "clear_page_dirty_for_io throws away the PTE dirty bit of a page whose "
        "buffers the filesystem already wrote: an mmap write never reaches disk",
        "7658cc289288 (Dec 2006)",
        (Setup("a store, the filesystem's own write of the buffer, a second store, "
               "and writeback",
               (("user", (("mmap_store", "P", 0, 1, 1), ("mmap_store", "P", 0, 1, 2))),
                ("jbd", (("ll_rw_block", "P", 1),)),
                ("writeback", (("write_cache_pages", "P", 0, "write"),
                               ("check_lost_write", "P")))),
               (("page", "P", 0, 0), ("buffers", "P"), ("map", 0, "P")),
               npages=2, dirty=(4, 1)),)),
]}

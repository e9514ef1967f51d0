"""The variant table: every end-of-writeback and clear_page_dirty_for_io variant.

Each entry names its source, and the few parameters on which the shared
mechanism (wait table, wake walk, wait loop) differs between kernels.  The
algorithms themselves live once, in _model.pxi and _dirty.pxi; a variant
only selects.
"""

from dataclasses import dataclass, field

from pagecore._errors import PagecoreError

# wake_page_function / wait_on_page_bit_common generations (docs/MODEL.md, "Waiting")
WAKE_PRE58 = 0   # 4.14 .. 5.7: waker stops at a set bit, waiter re-tests in a loop
WAKE_58 = 1      # 2a9127fcf229: waker checks the bit, strict lock hand-off
WAKE_59 = 2      # 5ef64cc8987a: controlled unfairness, WQ_FLAG_CUSTOM hand-off

# end_page_writeback shapes (docs/MODEL.md, "Ending writeback")
END_ORIGINAL = 0            # test_clear_page_writeback; smp_mb__after_atomic; wake_up_page
END_GET_PUT_ON_WAITERS = 1  # Hugh Dickins, Nov 2020 posting
END_GET_PUT = 2             # 073861ed77b6
END_WAKE_UNDER_IPAGES = 3   # Hugh, 4 Jan 2021
END_CMPXCHG_CLEAR = 4       # Linus Torvalds, 25 Nov 2020 sketch
END_FOLIO = 5               # 2580d554585c
END_FOLIO_WQ_LOCKED = 6     # Linus Torvalds, 30 Sep 2024: clear under the waitqueue lock

# clear_page_dirty_for_io shapes (7658cc289288; docs/MODEL.md, "The lost mmap write")
CPDFIO_2619 = 0
CPDFIO_SET_PAGE_DIRTY = 1


@dataclass(frozen=True)
class Variant:
    name: str
    kind: str          # "writeback" or "dirty"
    summary: str
    commit: str
    wake_gen: int = WAKE_59
    bookmarks: bool = True
    end_wb: int = END_ORIGINAL
    wait_loop: bool = False     # wait_on_page_writeback: while instead of if
    wait_mapping_break: bool = False  # ... and the loop ends when ->mapping changed
    folio_layout: bool = False  # 6.6 flag layout: PG_writeback bit 1, PG_dirty bit 4
    cpdfio: int = -1
    scenarios: tuple = field(default=())   # safety: racy or clean
    liveness: tuple = field(default=())    # liveness: starved or not

    def implementation(self, ops):
        """The code this variant runs for @ops (operations named as in OP_FIELDS): two
        variants with the same answer run identical source there, so any difference
        measured between them is the harness's, not the kernel's (an A/A pair)."""
        fields = dict.fromkeys(f for op in ops for f in OP_FIELDS[op])
        return " ".join("%s=%s" % (f, _label(f, getattr(self, f))) for f in fields) or "same"

    def as_dict(self):
        return {"name": self.name, "kind": self.kind, "summary": self.summary,
                "commit": self.commit, "scenarios": list(self.scenarios),
                "liveness": list(self.liveness),
                "implementations": {op: self.implementation([op]) for op in OP_FIELDS
                                    if (op == "clear_page_dirty_for_io") == (self.kind == "dirty")}}

    @property
    def all_scenarios(self):
        return self.scenarios + self.liveness


# What the code of each operation reads of a Variant.  The model compiles every variant into
# one function per operation and selects by these fields at run time, so variants that agree
# on an operation's fields execute the same instructions for it.
OP_FIELDS = {
    "end_page_writeback": ("end_wb", "folio_layout"),
    "wake_page_function": ("wake_gen",),
    "bookmarks": ("bookmarks",),
    "wait_on_page_writeback": ("wait_loop", "wait_mapping_break", "wake_gen"),
    # what wait_on_page_writeback() does before its first test of the bit: all that runs when
    # the page is not under writeback (the mapping-break proposal reads ->mapping first)
    "wait_entry": ("wait_mapping_break",),
    "clear_page_dirty_for_io": ("cpdfio",),
}

_LABELS = {
    "end_wb": {END_ORIGINAL: "test_clear_page_writeback",
               END_GET_PUT_ON_WAITERS: "get-put-on-waiters", END_GET_PUT: "get-put",
               END_WAKE_UNDER_IPAGES: "wake-under-i_pages",
               END_CMPXCHG_CLEAR: "cmpxchg-clear", END_FOLIO: "folio",
               END_FOLIO_WQ_LOCKED: "folio-clear-under-waitqueue-lock"},
    "wake_gen": {WAKE_PRE58: "pre-5.8", WAKE_58: "5.8", WAKE_59: "5.9"},
    "wait_loop": {False: "if", True: "while"},
    "wait_mapping_break": {False: "no", True: "on-mapping-change"},
    "cpdfio": {CPDFIO_2619: "2.6.19", CPDFIO_SET_PAGE_DIRTY: "set_page_dirty"},
}


def _label(field, value):
    return _LABELS.get(field, {}).get(value, str(value).lower())


_WB = ("writeback-set-again", "page-reuse")
_WB_LIVENESS = ("writeback-starvation",)
_DIRTY = ("mmap-lost-write",)

VARIANTS = {v.name: v for v in [
    Variant("pre-5.8", "writeback",
            "4.14-5.7: clear, smp_mb__after_atomic, wake_up_page; the waker stops at a "
            "set bit and woken waiters re-queue and re-test it",
            "v5.7 (before 2a9127fcf229; bookmarks since 2554db916586)",
            wake_gen=WAKE_PRE58, scenarios=_WB, liveness=_WB_LIVENESS),
    Variant("original", "writeback",
            "5.9: test_clear_page_writeback under i_pages lock, smp_mb__after_atomic, "
            "wake_up_page with no page reference; `if (PageWriteback)` wait",
            "2a9127fcf229 + 5ef64cc8987a (v5.9)", scenarios=_WB, liveness=_WB_LIVENESS),
    Variant("loop-in-wait", "writeback",
            "as original, but wait_on_page_writeback loops while PageWriteback",
            "c2407cf7d22d", wait_loop=True, scenarios=_WB, liveness=_WB_LIVENESS),
    Variant("get-put-on-waiters", "writeback",
            "i_pages lock; TestClearPageWriteback; get_page if PageWaiters; unlock; "
            "wake_up_page_bit; put_page",
            "Hugh Dickins, Nov 2020 posting, \"[PATCH] mm: fix VM_BUG_ON(PageTail) and "
            "BUG_ON(PageWriteback)\"",
            end_wb=END_GET_PUT_ON_WAITERS, scenarios=_WB, liveness=_WB_LIVENESS),
    Variant("get-put", "writeback",
            "get_page unconditionally around clear, barrier, wake_up_page, put_page",
            "073861ed77b6 (v5.10)", end_wb=END_GET_PUT, scenarios=_WB, liveness=_WB_LIVENESS),
    Variant("wake-under-i_pages", "writeback",
            "clear and wake_up_page_bit while still holding i_pages lock; no reference; "
            "the wake walk runs under i_pages lock",
            "Hugh Dickins, 4 Jan 2021 (not merged)",
            end_wb=END_WAKE_UNDER_IPAGES, scenarios=_WB, liveness=_WB_LIVENESS),
    Variant("cmpxchg-clear-in-wakeup", "writeback",
            "PG_writeback cleared by cmpxchg when !PG_waiters, else at the end of "
            "wake_up_page_bit under the bucket lock",
            "Linus Torvalds, 25 Nov 2020 sketch, \"Re: kernel BUG at fs/ext4/inode.c:LINE!\"",
            end_wb=END_CMPXCHG_CLEAR, scenarios=_WB, liveness=_WB_LIVENESS),
    Variant("shipped-5.10", "writeback",
            "5.10 stable: get-put end_page_writeback + loop-in-wait wait_on_page_writeback",
            "073861ed77b6 + c2407cf7d22d (v5.10.y)",
            end_wb=END_GET_PUT, wait_loop=True, scenarios=_WB, liveness=_WB_LIVENESS),
    Variant("folio-6.7", "writeback",
            "folio_get; i_pages lock; folio_xor_flags_has_waiters (PG_writeback bit 1); "
            "unlock; folio_wake_bit without bookmarks; folio_put",
            "2580d554585c (v6.7)", end_wb=END_FOLIO, bookmarks=False, wait_loop=True,
            folio_layout=True, scenarios=_WB, liveness=_WB_LIVENESS),
    # The two proposals of the linux-fsdevel thread "Known and unfixed active
    # data loss bug in MM + XFS with large folios since Dec 2021 (any kernel
    # from 6.1 upwards)", both on 30 Sep 2024 and both on top of 6.7.  The
    # gaps the mails leave are filled from 6.7's code; _model.pxi says how,
    # above folio_end_writeback_wq_locked() and __wait_on_page_writeback().
    Variant("clear-under-waitqueue-lock", "writeback",
            "folio_get; if PG_waiters: bucket lock, then 6.7's __folio_end_writeback "
            "(i_pages lock inside), walk and wake under the same hold; else as 6.7; "
            "folio_put; `if (PageWriteback)` wait",
            "Linus Torvalds, 30 Sep 2024, linux-fsdevel \"Known and unfixed active data "
            "loss bug in MM + XFS with large folios since Dec 2021\" (proposal)",
            end_wb=END_FOLIO_WQ_LOCKED, bookmarks=False, folio_layout=True, scenarios=_WB,
            liveness=_WB_LIVENESS),
    Variant("loop-break-on-mapping-change", "writeback",
            "folio-6.7, and the folio_wait_writeback loop ends when folio->mapping "
            "differs from the mapping seen when the wait began",
            "Matthew Wilcox, 30 Sep 2024, same linux-fsdevel thread (proposal)",
            end_wb=END_FOLIO, bookmarks=False, wait_loop=True, wait_mapping_break=True,
            folio_layout=True, scenarios=_WB, liveness=_WB_LIVENESS),
    Variant("cpdfio-2.6.19", "dirty",
            "clear_page_dirty_for_io: TestClearPageDirty, then page_mkclean with its "
            "result ignored",
            "v2.6.19 (before 7658cc289288)", cpdfio=CPDFIO_2619, scenarios=_DIRTY),
    Variant("cpdfio-set-page-dirty", "dirty",
            "clear_page_dirty_for_io: if (page_mkclean(page)) set_page_dirty(page); then "
            "TestClearPageDirty",
            "7658cc289288", cpdfio=CPDFIO_SET_PAGE_DIRTY, scenarios=_DIRTY),
]}

WRITEBACK_VARIANTS = [n for n, v in VARIANTS.items() if v.kind == "writeback"]
DIRTY_VARIANTS = [n for n, v in VARIANTS.items() if v.kind == "dirty"]


def get_variant(name):
    try:
        return VARIANTS[name]
    except KeyError:
        raise PagecoreError("unknown variant %r (known: %s)"
                            % (name, ", ".join(VARIANTS))) from None

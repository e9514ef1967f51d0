"""The dirty-page path (7658cc289288, docs/MODEL.md): buffers, PTEs, page_mkclean,
__set_page_dirty_buffers, __block_write_full_page, ll_rw_block, both
clear_page_dirty_for_io shapes, and the check that finds a lost write.

Single-threaded: each call is one kernel function run to completion.
"""

import pytest

from pagecore import Model, PagecoreError

NBUF = 4


def dirty_model(variant="cpdfio-set-page-dirty", nvmas=2, instrumented=True):
    m = Model(variant, npages=8, instrumented=instrumented)
    m.core.dirty_configure(NBUF, nvmas)
    page = m.new_page(0, 0)
    m.core.create_page_buffers_(page)
    return m, m.core, page


def buffers_dirty(c, page):
    return [b["dirty"] for b in c.dirty_state(page)["buffers"]]


def test_new_buffers_are_clean_and_read_from_disk():
    m, c, page = dirty_model()
    st = c.dirty_state(page)
    assert len(st["buffers"]) == NBUF
    assert not st["PG_dirty"] and not any(buffers_dirty(c, page))
    assert all(b["data"] == b["disk"] for b in st["buffers"])
    assert st["mapcount"] == 0 and not any(p["present"] for p in st["ptes"])


def test_set_page_dirty_buffers_marks_every_buffer_then_pg_dirty():
    m, c, page = dirty_model()
    assert c.set_page_dirty_buffers_(page) == 1
    assert all(buffers_dirty(c, page))
    assert m.PageDirty(page)
    assert m.mapping_info(0)["dirty"] == 1          # PAGECACHE_TAG_DIRTY
    assert c.set_page_dirty_buffers_(page) == 0     # already dirty
    # set_page_dirty of a page in a mapping is __set_page_dirty_buffers
    for b in range(NBUF):
        c.ll_rw_block_write_(page, b)
    assert not any(buffers_dirty(c, page))
    assert c.set_page_dirty_(page) == 0
    assert all(buffers_dirty(c, page))


def test_store_through_a_writable_pte_marks_no_buffer():
    m, c, page = dirty_model()
    c.do_no_page_(0, page, False)
    pte = c.dirty_state(page)["ptes"][0]
    assert pte["present"] and not pte["write"] and not pte["dirty"]
    # the first store faults: do_wp_page makes the PTE writable and dirty,
    # set_page_dirty dirties every buffer
    assert c.mmap_write(0, page, 2, 7) == 1
    st = c.dirty_state(page)
    assert st["ptes"][0] == {"present": True, "write": True, "dirty": True}
    assert all(buffers_dirty(c, page)) and st["PG_dirty"]
    assert st["buffers"][2]["data"] == 7
    # the filesystem cleans the buffers; the next store does not fault and
    # tells nobody
    for b in range(NBUF):
        c.ll_rw_block_write_(page, b)
    assert c.mmap_write(0, page, 1, 8) == 0
    assert not any(buffers_dirty(c, page))
    assert c.dirty_state(page)["buffers"][1]["data"] == 8


def test_page_mkclean_counts_the_ptes_it_cleaned():
    m, c, page = dirty_model(nvmas=3)
    m.lock_page(page)
    assert c.page_mkclean_(page) == 0               # not mapped
    m.unlock_page(page)
    for v in range(3):
        c.do_no_page_(v, page, False)
    c.mmap_write(0, page, 0, 1)
    c.mmap_write(2, page, 0, 2)
    m.lock_page(page)
    assert c.page_mkclean_(page) == 2               # vma 1 was read-only and clean
    st = c.dirty_state(page)
    assert all(p["present"] and not p["write"] and not p["dirty"] for p in st["ptes"])
    assert c.page_mkclean_(page) == 0
    m.unlock_page(page)
    with pytest.raises(PagecoreError, match="not locked"):
        c.page_mkclean_(page)                       # BUG_ON(!PageLocked(page))


def test_zap_pte_hands_its_dirtiness_to_the_page():
    m, c, page = dirty_model()
    c.do_no_page_(0, page, False)
    c.mmap_write(0, page, 0, 1)
    for b in range(NBUF):
        c.ll_rw_block_write_(page, b)
    m.lock_page(page)
    assert c.clear_page_dirty_for_io_(page) == 1     # PG_dirty was set by the fault
    m.unlock_page(page)
    c.do_no_page_(1, page, False)
    c.mmap_write(1, page, 3, 5)
    c.zap_pte_(1, page)
    st = c.dirty_state(page)
    assert not st["ptes"][1]["present"] and st["mapcount"] == 1
    assert st["PG_dirty"] and all(buffers_dirty(c, page))


def test_ll_rw_block_writes_only_a_dirty_buffer():
    m, c, page = dirty_model()
    assert c.ll_rw_block_write_(page, 0) is False
    c.do_no_page_(0, page, False)
    c.mmap_write(0, page, 0, 9)
    assert c.ll_rw_block_write_(page, 0) is True
    st = c.dirty_state(page)
    assert st["buffers"][0] == {"dirty": False, "locked": False, "data": 9, "disk": 9}
    assert st["buffers"][1]["dirty"] and st["PG_dirty"]   # the others untouched


def test_writepage_writes_only_the_dirty_buffers():
    m, c, page = dirty_model()
    c.do_no_page_(0, page, False)
    c.mmap_write(0, page, 0, 1)
    c.mmap_write(0, page, 3, 2)
    c.ll_rw_block_write_(page, 1)
    c.ll_rw_block_write_(page, 2)
    m.lock_page(page)
    assert c.block_write_full_page_(page) == 2       # buffers 0 and 3
    assert not m.PageLocked(page) and not m.PageWriteback(page)
    st = c.dirty_state(page)
    assert [b["disk"] for b in st["buffers"]] == [1, 0, 0, 2]
    assert not any(buffers_dirty(c, page))
    assert m.bugs()["not_under_writeback"] == 0


def test_writepage_ends_writeback_at_once_when_no_buffer_is_dirty():
    m, c, page = dirty_model()
    c.set_page_dirty_(page)
    for b in range(NBUF):
        c.ll_rw_block_write_(page, b)
    m.events_reset()
    what, n = c.write_cache_pages_in(page, 0, "write")
    assert (what, n) == ("written", 0)
    assert not m.PageWriteback(page) and not m.PageLocked(page) and not m.PageDirty(page)
    assert m.mapping_info(0)["writeback"] == 0
    assert sum(m.bugs().values()) == 0


def test_write_cache_pages_skips_clean_and_truncated_pages():
    m, c, page = dirty_model()
    assert c.write_cache_pages_in(page, 0, "write") == ("skipped", 0)   # not dirty
    c.set_page_dirty_(page)
    assert c.write_cache_pages_in(page, 1, "write") == ("skipped", 0)   # other file
    with pytest.raises(PagecoreError):
        c.write_cache_pages_in(page, 0, "bogus")


def seed_003_sequence(c, page):
    """The sequence of 7658cc289288: a store faults and dirties the page;
    the filesystem writes buffer 1 itself; a second store to buffer 1 goes
    through the writable PTE."""
    c.do_no_page_(0, page, False)
    assert c.mmap_write(0, page, 1, 1) == 1
    assert c.ll_rw_block_write_(page, 1)
    assert c.mmap_write(0, page, 1, 2) == 0


def test_cpdfio_2619_throws_the_pte_dirtiness_away():
    m, c, page = dirty_model("cpdfio-2.6.19")
    seed_003_sequence(c, page)
    m.lock_page(page)
    assert c.clear_page_dirty_for_io_(page) == 1
    st = c.dirty_state(page)
    assert not st["ptes"][0]["dirty"] and not st["ptes"][0]["write"]
    assert buffers_dirty(c, page) == [True, False, True, True]    # buffer 1 stays clean
    assert c.block_write_full_page_(page) == 3
    assert c.dirty_state(page)["buffers"][1] == {"dirty": False, "locked": False,
                                                 "data": 2, "disk": 1}
    r = c.check_lost_write_(page)
    assert r["lost"] == 1 and r["lost_buffers"] == [1]
    assert m.bugs()["lost_write"] == 1
    (rec,) = m.bug_log()
    assert rec["kind"] == "lost_write" and rec["page"] == page and rec["a"] == 1
    assert rec["b"] >> 32 == 2 and rec["b"] & 0xffffffff == 1
    # the same lost version is reported once
    c.check_lost_write_(page)
    assert m.bugs()["lost_write"] == 1


def test_cpdfio_set_page_dirty_writes_the_whole_page():
    m, c, page = dirty_model("cpdfio-set-page-dirty")
    seed_003_sequence(c, page)
    m.lock_page(page)
    assert c.clear_page_dirty_for_io_(page) == 1
    assert all(buffers_dirty(c, page))              # set_page_dirty after page_mkclean
    assert not m.PageDirty(page)
    assert c.block_write_full_page_(page) == NBUF
    assert c.check_lost_write_(page)["lost"] == 0
    assert m.bugs()["lost_write"] == 0


def test_no_lost_write_while_the_page_is_still_dirty_somewhere():
    m, c, page = dirty_model("cpdfio-2.6.19")
    seed_003_sequence(c, page)
    r = c.check_lost_write_(page)       # PTE dirty, PG_dirty set: nothing lost yet
    assert r["lost"] == 0 and r["ptes_dirty"] == 1 and r["PG_dirty"]
    assert m.bugs()["lost_write"] == 0


def test_the_timed_build_has_the_same_dirty_path():
    m, c, page = dirty_model("cpdfio-2.6.19", instrumented=False)
    seed_003_sequence(c, page)
    assert c.write_cache_pages_in(page, 0, "write") == ("written", 3)
    assert c.check_lost_write_(page)["lost"] == 1
    assert m.bugs()["lost_write"] == 1


def test_bad_calls_are_refused():
    m = Model("cpdfio-2.6.19", npages=8, instrumented=True)
    page = m.new_page(0, 0)
    with pytest.raises(PagecoreError, match="dirty_configure"):
        m.core.create_page_buffers_(page)
    m.core.dirty_configure(NBUF, 1)
    with pytest.raises(PagecoreError, match="no buffers"):
        m.core.mmap_write(0, page, 0, 1)
    m.core.create_page_buffers_(page)
    with pytest.raises(PagecoreError, match="out of range"):
        m.core.mmap_write(1, page, 0, 1)
    with pytest.raises(PagecoreError, match="out of range"):
        m.core.ll_rw_block_write_(page, NBUF)
    other = m.new_page(1, 0)
    m.core.create_page_buffers_(other)
    with pytest.raises(PagecoreError, match="not in the file"):
        m.core.do_no_page_(0, other)
    with pytest.raises(PagecoreError):
        m.core.dirty_configure(0, 1)

# The dirty-page path of 7658cc289288 ("VM: Fix nasty and subtle race in
# shared mmap'ed page writeback"; docs/MODEL.md, "The lost mmap write"):
# buffer_heads that carry their own dirty bits, shared writable mappings
# whose PTEs carry write and dirty bits, page_mkclean, set_page_dirty and
# __set_page_dirty_buffers, both shapes of clear_page_dirty_for_io, a
# writepage modelled on __block_write_full_page over a simulated disk, the
# filesystem writing single buffers behind the VM's back (ll_rw_block), and
# write_cache_pages for one page.  Names and the order of operations follow
# fs/buffer.c, mm/rmap.c, mm/memory.c and mm/page-writeback.c of 2.6.19/2.6.20.
#
# Page contents are one word per buffer-sized block, a version number the
# user writes; the disk is one word per block.  A write is lost when, with
# nothing left that says the page is dirty (no dirty PTE, PG_dirty clear, no
# dirty buffer, no I/O in flight), the disk holds something other than what
# the user wrote: check_lost_write() looks, and records PC_BUG_LOST_WRITE.
#
# Left out: get_block (every buffer is mapped to its block when the page's
# buffers are made), dirty accounting (NR_FILE_DIRTY, balance_dirty_pages),
# reads, private mappings (a write to one copies the page and never dirties
# the file), and asynchronous I/O: submit_bh() copies to the disk and
# completes the buffer at once, as a very fast disk would.

cdef extern from "<sched.h>" nogil:
    int sched_yield()

# clear_page_dirty_for_io shapes, as _variants.py numbers them.  The
# writeback variants all postdate 7658cc289288 and get its shape.
cdef enum:
    CPDFIO_2619 = 0
    CPDFIO_SET_PAGE_DIRTY = 1

# enum bh_state_bits, include/linux/buffer_head.h (2.6.19)
cdef enum:
    BH_Uptodate = 0
    BH_Dirty = 1
    BH_Lock = 2
    BH_Req = 3
    BH_Uptodate_Lock = 4    # bit spinlock in the first buffer of a page
    BH_Mapped = 5
    BH_Async_Write = 8

# x86 PTE bits, and the vm_flags that matter here
cdef enum:
    _PAGE_PRESENT = 0x001
    _PAGE_RW = 0x002
    _PAGE_ACCESSED = 0x020
    _PAGE_DIRTY = 0x040
    PTE_PFN_SHIFT = 12
    VM_WRITE = 0x02
    VM_SHARED = 0x08

# What write_cache_pages_in() did with the page.
cdef enum:
    WCP_SKIPPED = 0     # truncated, clean, or clear_page_dirty_for_io said no
    WCP_BUG = 1         # BUG_ON(PageWriteback) after wait_on_page_writeback
    WCP_STARTED = 2     # writeback set, to be ended by the caller's completion
    WCP_WAITED = 3      # only waited (no writepage)
    WCP_WRITTEN = 4     # __block_write_full_page ran


cdef struct buffer_head:
    unsigned long b_state
    buffer_head *b_this_page        # circular list of the page's buffers
    page *b_page
    unsigned long b_blocknr
    unsigned long *b_data           # this buffer's part of the page frame
    void (*b_end_io)(buffer_head *bh, int uptodate) noexcept nogil
    int pc_nr                       # model: index of the buffer in its page
    unsigned long pc_lost_reported  # model: the lost version already reported


cdef struct vm_area_struct:
    unsigned long vm_flags
    address_space *vm_mapping       # vm_file->f_mapping
    spinlock_t ptl                  # the page table lock of this mm
    unsigned long *ptes             # ptes[index]: the PTE mapping file page @index
    int id


# Per address_space locks the dirty path needs and struct address_space in
# _model.pxi does not carry.
cdef struct pc_dirty_mapping:
    spinlock_t private_lock         # mapping->private_lock: the buffer lists
    spinlock_t i_mmap_lock          # mapping->i_mmap_lock: the vmas that map it


cdef struct pc_dirty_state:
    page *pages                     # the pool the state was made for
    long npages
    int nbuffers
    int nvmas
    int nmappings
    buffer_head *bhs                # npages * nbuffers
    unsigned long *data             # the page frames: npages * nbuffers words
    unsigned long *disk             # the simulated disk: one word per block
    atomic_t *mapcount              # page->_mapcount + 1
    vm_area_struct *vmas
    pc_dirty_mapping *dmaps

cdef pc_dirty_state D


# -------------------------------------------------------------------------
# buffer_head bitops (BUFFER_FNS / TAS_BUFFER_FNS)
# -------------------------------------------------------------------------

cdef inline bint buffer_dirty(buffer_head *bh) noexcept nogil:
    return test_bit(BH_Dirty, &bh.b_state)

cdef inline bint buffer_locked(buffer_head *bh) noexcept nogil:
    return test_bit(BH_Lock, &bh.b_state)

cdef inline bint buffer_async_write(buffer_head *bh) noexcept nogil:
    return test_bit(BH_Async_Write, &bh.b_state)

cdef inline void set_buffer_dirty(buffer_head *bh) noexcept nogil:
    set_bit(BH_Dirty, &bh.b_state)

cdef inline bint test_clear_buffer_dirty(buffer_head *bh) noexcept nogil:
    return test_and_clear_bit(BH_Dirty, &bh.b_state)

cdef inline void set_buffer_uptodate(buffer_head *bh) noexcept nogil:
    set_bit(BH_Uptodate, &bh.b_state)

cdef inline void mark_buffer_async_write(buffer_head *bh) noexcept nogil:
    set_bit(BH_Async_Write, &bh.b_state)

cdef inline void clear_buffer_async_write(buffer_head *bh) noexcept nogil:
    clear_bit(BH_Async_Write, &bh.b_state)

cdef inline bint test_set_buffer_locked(buffer_head *bh) noexcept nogil:
    return test_and_set_bit_lock(BH_Lock, &bh.b_state)

# lock_buffer() sleeps in __wait_on_bit_lock(); no holder of a buffer lock
# in the model ever sleeps (the disk completes at once), so waiting spins
# and yields.
cdef inline void lock_buffer(buffer_head *bh) noexcept nogil:
    while test_set_buffer_locked(bh):
        while buffer_locked(bh):
            cpu_relax()     # a scheduling point of the explorer, a pause otherwise
            sched_yield()

cdef inline void unlock_buffer(buffer_head *bh) noexcept nogil:
    clear_bit_unlock(BH_Lock, &bh.b_state)

cdef inline void bit_spin_lock(int nr, unsigned long *addr) noexcept nogil:
    while test_and_set_bit_lock(nr, addr):
        while test_bit(nr, addr):
            cpu_relax()

cdef inline void bit_spin_unlock(int nr, unsigned long *addr) noexcept nogil:
    clear_bit_unlock(nr, addr)

cdef inline bint page_has_buffers(page *p) noexcept nogil:
    return p.private != NULL

cdef inline buffer_head *page_buffers(page *p) noexcept nogil:
    return <buffer_head *>p.private

cdef inline bint page_mapped(page *p) noexcept nogil:
    return atomic_read(&D.mapcount[p.pc_id]) > 0

cdef inline pc_dirty_mapping *dmap(address_space *mapping) noexcept nogil:
    return &D.dmaps[mapping.id]


# -------------------------------------------------------------------------
# PTEs
# -------------------------------------------------------------------------

cdef inline bint pte_present(unsigned long pte) noexcept nogil:
    return (pte & _PAGE_PRESENT) != 0

cdef inline bint pte_write(unsigned long pte) noexcept nogil:
    return (pte & _PAGE_RW) != 0

cdef inline bint pte_dirty(unsigned long pte) noexcept nogil:
    return (pte & _PAGE_DIRTY) != 0

cdef inline unsigned long mk_pte(page *p, unsigned long prot) noexcept nogil:
    return ((<unsigned long>p.pc_id + 1) << PTE_PFN_SHIFT) | prot

cdef inline bint pte_maps(unsigned long pte, page *p) noexcept nogil:
    return pte_present(pte) and (pte >> PTE_PFN_SHIFT) == <unsigned long>p.pc_id + 1

# maybe_mkwrite(): writable only in a VM_WRITE vma
cdef inline unsigned long maybe_mkwrite(unsigned long pte,
                                        vm_area_struct *vma) noexcept nogil:
    if vma.vm_flags & VM_WRITE:
        pte |= _PAGE_RW
    return pte


# page_check_address(): the PTE that maps @p in @vma, with the page table
# lock taken; NULL (and no lock) when it does not map it.
cdef unsigned long *page_check_address(page *p, vm_area_struct *vma) noexcept nogil:
    cdef unsigned long *pte = &vma.ptes[p.index]
    spin_lock(&vma.ptl)
    if pte_maps(pte[0], p):
        return pte
    spin_unlock(&vma.ptl)
    return NULL


# -------------------------------------------------------------------------
# Dirtying: set_page_dirty and __set_page_dirty_buffers (fs/buffer.c)
# -------------------------------------------------------------------------

# "Add a page to the dirty page list.  It is a sad fact of life that this
# function is called from several places deeply under spinlocking. ... If
# the page has buffers, the uptodate buffers are set dirty, to preserve
# dirty-state coherency between the page and the buffers."  Every buffer,
# whatever part of the page was written: the filesystem cannot know.
cdef int __set_page_dirty_buffers(page *p) noexcept nogil:
    cdef address_space *mapping = page_mapping(p)
    cdef buffer_head *head
    cdef buffer_head *bh

    if mapping == NULL:
        return not TestSetPageDirty(p)

    spin_lock(&dmap(mapping).private_lock)
    if page_has_buffers(p):
        head = page_buffers(p)
        bh = head
        while True:
            set_buffer_dirty(bh)
            bh = bh.b_this_page
            if bh == head:
                break
    spin_unlock(&dmap(mapping).private_lock)

    if TestSetPageDirty(p):
        return 0

    spin_lock(&mapping.i_pages_lock)
    if page_mapping(p) != NULL:     # Race with truncate?
        __xa_set_mark(mapping, p, PAGECACHE_TAG_DIRTY)
    spin_unlock(&mapping.i_pages_lock)
    # __mark_inode_dirty(mapping->host, I_DIRTY_PAGES): left out
    return 1


# set_page_dirty(): a block-device-backed mapping without its own
# ->set_page_dirty gets __set_page_dirty_buffers.
cdef int set_page_dirty(page *p) noexcept nogil:
    cdef address_space *mapping = page_mapping(p)
    if mapping != NULL:
        return __set_page_dirty_buffers(p)
    if not PageDirty(p):
        if not TestSetPageDirty(p):
            return 1
    return 0


# -------------------------------------------------------------------------
# page_mkclean (mm/rmap.c)
# -------------------------------------------------------------------------

# A PTE that is dirty or writable is cleaned and write-protected, so the
# next store through it faults and dirties the page again.
# ptep_clear_flush() empties the PTE and flushes the TLB: once it returns no
# CPU can still store through the old entry.  The model gets the same from
# the page table lock, which a user store (mmap_store) holds.
cdef int page_mkclean_one(page *p, vm_area_struct *vma) noexcept nogil:
    cdef unsigned long *pte
    cdef unsigned long entry
    cdef int ret = 0

    pte = page_check_address(p, vma)
    if pte == NULL:
        return 0
    if pte_dirty(pte[0]) or pte_write(pte[0]):
        entry = pte[0]
        WRITE_ONCE_ul(pte, 0)                   # ptep_clear_flush
        entry &= ~(<unsigned long>_PAGE_RW)     # pte_wrprotect
        entry &= ~(<unsigned long>_PAGE_DIRTY)  # pte_mkclean
        WRITE_ONCE_ul(pte, entry)               # set_pte_at
        ret = 1
    spin_unlock(&vma.ptl)                       # pte_unmap_unlock
    return ret


# vma_prio_tree_foreach() over the file's vmas: the model's i_mmap is the
# vma table, filtered by mapping.
cdef int page_mkclean_file(address_space *mapping, page *p) noexcept nogil:
    cdef int ret = 0
    cdef int i
    cdef vm_area_struct *vma
    spin_lock(&dmap(mapping).i_mmap_lock)
    for i in range(D.nvmas):
        vma = &D.vmas[i]
        if vma.vm_mapping != mapping:
            continue
        if vma.vm_flags & VM_SHARED:
            ret += page_mkclean_one(p, vma)
    spin_unlock(&dmap(mapping).i_mmap_lock)
    return ret


# Returns how many PTEs it cleaned.  The caller holds the page lock
# (BUG_ON(!PageLocked(page)), checked by the Python face).
cdef int page_mkclean(page *p) noexcept nogil:
    cdef int ret = 0
    cdef address_space *mapping
    if page_mapped(p):
        mapping = page_mapping(p)
        if mapping != NULL:
            ret = page_mkclean_file(mapping, p)
    return ret


# -------------------------------------------------------------------------
# clear_page_dirty_for_io (mm/page-writeback.c), the two shapes
# -------------------------------------------------------------------------

# cpdfio-2.6.19: v2.6.19, before 7658cc289288.  The PTEs are cleaned after
# PG_dirty and whatever dirtiness page_mkclean() finds there is thrown away:
# the writepage that follows writes only the buffers still marked dirty.
# (mapping_cap_account_dirty() is true for every model mapping.)
cdef int clear_page_dirty_for_io_2619(page *p) noexcept nogil:
    cdef address_space *mapping = page_mapping(p)

    if mapping == NULL:
        return TestClearPageDirty(p)

    if TestClearPageDirty(p):
        pc_race(RP_CPDFIO_MID)
        page_mkclean(p)
        # dec_zone_page_state(page, NR_FILE_DIRTY): left out
        return 1
    return 0


# cpdfio-set-page-dirty: 7658cc289288, "VM: Fix nasty and subtle race in
# shared mmap'ed page writeback".  "We use this sequence to make sure that
# (a) we account for dirty stats properly (b) we tell the low-level
# filesystem to mark the whole page dirty if it was dirty in a pagetable.
# Only to then (c) clean the page again and return 1 to cause the
# writeback."  Its FIXME stands: a fault between page_mkclean() and
# TestClearPageDirty() leaves the page mapped dirty with PG_dirty clear.
cdef int clear_page_dirty_for_io_set_page_dirty(page *p) noexcept nogil:
    cdef address_space *mapping = page_mapping(p)

    if mapping != NULL:
        if page_mkclean(p):
            set_page_dirty(p)
        pc_race(RP_CPDFIO_MID)
        if TestClearPageDirty(p):
            return 1
        return 0
    return TestClearPageDirty(p)


cdef int clear_page_dirty_for_io(page *p) noexcept nogil:
    if V.cpdfio == CPDFIO_2619:
        return clear_page_dirty_for_io_2619(p)
    return clear_page_dirty_for_io_set_page_dirty(p)


# -------------------------------------------------------------------------
# The disk and writepage (fs/buffer.c)
# -------------------------------------------------------------------------

# The write reaches the disk when it is submitted; the completion runs at
# once, in the submitter.
cdef void submit_bh_write(buffer_head *bh) noexcept nogil:
    __atomic_store_ul(&D.disk[bh.b_blocknr], __atomic_load_ul(bh.b_data))
    bh.b_end_io(bh, 1)


# I/O completion of a buffer written by ll_rw_block() or sync_dirty_buffer()
cdef void end_buffer_write_sync(buffer_head *bh, int uptodate) noexcept nogil:
    if uptodate:
        set_buffer_uptodate(bh)
    unlock_buffer(bh)


# I/O completion of a buffer written by __block_write_full_page(): the last
# buffer of the page to complete ends the page's writeback.  The other
# buffers are looked at under BH_Uptodate_Lock of the first one.
cdef void end_buffer_async_write(buffer_head *bh, int uptodate) noexcept nogil:
    cdef page *p = bh.b_page
    cdef buffer_head *first
    cdef buffer_head *tmp

    if uptodate:
        set_buffer_uptodate(bh)
    first = page_buffers(p)
    bit_spin_lock(BH_Uptodate_Lock, &first.b_state)
    clear_buffer_async_write(bh)
    unlock_buffer(bh)
    tmp = bh.b_this_page
    while tmp != bh:
        if buffer_async_write(tmp):
            bit_spin_unlock(BH_Uptodate_Lock, &first.b_state)
            return      # still_busy
        tmp = tmp.b_this_page
    bit_spin_unlock(BH_Uptodate_Lock, &first.b_state)
    end_page_writeback(p)


# The filesystem writing one buffer itself, for its own ordering (a journal
# commit, sync_dirty_buffer, ll_rw_block(WRITE, 1, &bh)): a locked buffer is
# skipped, a clean one left alone.  Returns 1 if it wrote the buffer.
cdef int ll_rw_block_write(buffer_head *bh) noexcept nogil:
    if test_set_buffer_locked(bh):
        return 0
    # get_bh(bh)
    if test_clear_buffer_dirty(bh):
        bh.b_end_io = end_buffer_write_sync
        submit_bh_write(bh)
        return 1
    unlock_buffer(bh)
    return 0


# __block_write_full_page(), 2.6.19, for WB_SYNC_ALL and every buffer
# mapped.  "If a buffer becomes dirty here after we've inspected it then we
# just miss that fact, and the page stays dirty."  It writes the buffers
# marked dirty, not the page.  Called with the page locked; unlocks it.
# Returns how many buffers it submitted.
cdef int __block_write_full_page(page *p) noexcept nogil:
    cdef buffer_head *head = page_buffers(p)
    cdef buffer_head *bh
    cdef buffer_head *next
    cdef int nr_underway = 0

    bh = head
    while True:
        lock_buffer(bh)
        if test_clear_buffer_dirty(bh):
            mark_buffer_async_write(bh)
        else:
            unlock_buffer(bh)
        bh = bh.b_this_page
        if bh == head:
            break
        pc_race(RP_WRITEPAGE_MID)

    # The page and its buffers are protected by PageWriteback(), so we can
    # drop the bh refcounts early.
    if PageWriteback(p):    # BUG_ON(PageWriteback(page))
        pc_bug(PC_BUG_WRITEBACK_AFTER_WAIT, p, "__block_write_full_page",
               READ_ONCE_ul(&p.flags), 0)
    set_page_writeback(p)

    while True:
        next = bh.b_this_page
        if buffer_async_write(bh):
            bh.b_end_io = end_buffer_async_write
            submit_bh_write(bh)
            nr_underway += 1
        bh = next
        if bh == head:
            break
    unlock_page(p)

    if nr_underway == 0:
        # The page was marked dirty, but the buffers were clean.  Someone
        # wrote them back by hand with ll_rw_block/submit_bh.  A rare case.
        end_page_writeback(p)
        # The page and buffer_heads can be released at any time from here on.
    return nr_underway


# -------------------------------------------------------------------------
# write_cache_pages(), the body of its loop for one page the tag lookup
# found (5.10's order; 2.6.19's mpage_writepages() does the same steps)
# -------------------------------------------------------------------------

# @how: WCP_WRITTEN runs the dirty path (PageDirty, clear_page_dirty_for_io,
# __block_write_full_page); WCP_STARTED only sets writeback, for a caller
# that ends it later (the writeback races); WCP_WAITED only waits.
cdef int write_cache_pages_one_page(page *p, address_space *mapping, int how,
                                    int *nr_written) noexcept nogil:
    lock_page(p)
    # Page truncated or invalidated.  We can freely skip it then, even for
    # data integrity operations: the page has disappeared concurrently.
    if page_mapping(p) != mapping:
        unlock_page(p)
        return WCP_SKIPPED
    if how == WCP_WRITTEN and not PageDirty(p):
        # someone wrote it for us
        unlock_page(p)
        return WCP_SKIPPED
    if PageWriteback(p):
        wait_on_page_writeback(p)       # wbc->sync_mode != WB_SYNC_NONE
    if PageWriteback(p):                # BUG_ON(PageWriteback(page))
        pc_bug(PC_BUG_WRITEBACK_AFTER_WAIT, p, "write_cache_pages", READ_ONCE_ul(&p.flags), 0)
        unlock_page(p)
        return WCP_BUG
    if how == WCP_WRITTEN:
        if not clear_page_dirty_for_io(p):
            unlock_page(p)
            return WCP_SKIPPED
        nr_written[0] = __block_write_full_page(p)
        return WCP_WRITTEN
    if how == WCP_STARTED:
        set_page_writeback(p)
        unlock_page(p)
        return WCP_STARTED
    unlock_page(p)
    return WCP_WAITED


# -------------------------------------------------------------------------
# Faults and user stores through a shared writable mapping (mm/memory.c)
# -------------------------------------------------------------------------

cdef void page_add_file_rmap(page *p) noexcept nogil:
    atomic_inc(&D.mapcount[p.pc_id])

cdef void page_remove_rmap(page *p) noexcept nogil:
    atomic_dec_and_test(&D.mapcount[p.pc_id])


# do_no_page(), 2.6.19: map the page.  A shared writable vma tracks dirty
# pages (vma_wants_writenotify), so vm_page_prot is read-only and only a
# write fault maps the page writable, dirty, and calls set_page_dirty().
cdef void do_no_page(vm_area_struct *vma, page *p, bint write_access) noexcept nogil:
    cdef unsigned long *pte = &vma.ptes[p.index]
    cdef unsigned long entry
    cdef bint dirty_page = False

    spin_lock(&vma.ptl)
    if pte[0] == 0:
        entry = mk_pte(p, _PAGE_PRESENT | _PAGE_ACCESSED)
        if write_access:
            entry = maybe_mkwrite(entry | _PAGE_DIRTY, vma)
            dirty_page = True
        WRITE_ONCE_ul(pte, entry)
        page_add_file_rmap(p)
    spin_unlock(&vma.ptl)
    if dirty_page:
        set_page_dirty(p)       # set_page_dirty_balance()


# do_wp_page(), 2.6.19, the shared-writable "reuse" case: make the PTE
# writable and dirty under the page table lock, then, after dropping it,
# set_page_dirty_balance(dirty_page).
cdef void do_wp_page(vm_area_struct *vma, page *p) noexcept nogil:
    cdef unsigned long *pte = &vma.ptes[p.index]
    cdef unsigned long entry

    spin_lock(&vma.ptl)
    entry = pte[0]
    if not pte_maps(entry, p) or pte_write(entry):
        spin_unlock(&vma.ptl)   # someone else fixed the PTE up
        return
    entry = maybe_mkwrite(entry | _PAGE_DIRTY | _PAGE_ACCESSED, vma)
    WRITE_ONCE_ul(pte, entry)   # ptep_set_access_flags
    spin_unlock(&vma.ptl)
    pc_race(RP_FAULT_MID)
    set_page_dirty(p)           # set_page_dirty_balance(dirty_page)


# A user store into the part of the page that buffer @nr covers.  Through a
# present writable PTE the CPU sets the dirty bit and stores, and the kernel
# hears nothing: no buffer is marked.  Otherwise the store faults, and is
# retried once the fault has made the PTE writable.  Returns the faults
# taken, or -1 if the watchdog gave up on it.
cdef int mmap_store(vm_area_struct *vma, page *p, int nr, unsigned long value) noexcept nogil:
    cdef unsigned long *pte = &vma.ptes[p.index]
    cdef unsigned long entry
    cdef int faults = 0

    while True:
        spin_lock(&vma.ptl)
        entry = pte[0]
        if pte_maps(entry, p) and pte_write(entry):
            WRITE_ONCE_ul(pte, entry | _PAGE_DIRTY | _PAGE_ACCESSED)
            __atomic_store_ul(&D.data[p.pc_id * D.nbuffers + nr], value)
            spin_unlock(&vma.ptl)
            return faults
        spin_unlock(&vma.ptl)
        if pc_abort:
            return -1
        faults += 1
        if pte_present(entry):
            do_wp_page(vma, p)
        else:
            do_no_page(vma, p, True)


# zap_pte_range() for one page (munmap): a dirty PTE hands its dirtiness to
# the page before it goes.
cdef void zap_pte(vm_area_struct *vma, page *p) noexcept nogil:
    cdef unsigned long *pte = &vma.ptes[p.index]
    cdef unsigned long ptent

    spin_lock(&vma.ptl)
    ptent = pte[0]
    if pte_maps(ptent, p):
        WRITE_ONCE_ul(pte, 0)       # ptep_get_and_clear_full
        if pte_dirty(ptent):
            set_page_dirty(p)
        page_remove_rmap(p)
    spin_unlock(&vma.ptl)


# -------------------------------------------------------------------------
# Buffers for a page, and the check for a lost write
# -------------------------------------------------------------------------

# create_empty_buffers() + a read of every block (block_read_full_page):
# the page is uptodate and clean, its contents what the disk holds.
cdef void create_page_buffers(page *p) noexcept nogil:
    cdef int i, n = D.nbuffers
    cdef buffer_head *bh
    cdef buffer_head *head = &D.bhs[p.pc_id * n]
    cdef address_space *mapping = page_mapping(p)

    for i in range(n):
        bh = &head[i]
        bh.b_state = (1UL << BH_Uptodate) | (1UL << BH_Mapped)
        bh.b_this_page = &head[(i + 1) % n]
        bh.b_page = p
        bh.b_blocknr = p.pc_id * n + i
        bh.b_data = &D.data[p.pc_id * n + i]
        bh.b_end_io = end_buffer_write_sync
        bh.pc_nr = i
        bh.pc_lost_reported = 0
        __atomic_store_ul(bh.b_data, __atomic_load_ul(&D.disk[bh.b_blocknr]))
    if mapping != NULL:
        spin_lock(&dmap(mapping).private_lock)
    smp_store_release_ptr(&p.private, head)     # attach_page_buffers
    if mapping != NULL:
        spin_unlock(&dmap(mapping).private_lock)


# "Sync and verify": with the page lock, every buffer lock (no I/O in
# flight) and every page table lock of the file's vmas held, nothing can
# clean or dirty the page, so what is seen is one state.  If nothing says
# the page is dirty and a block on disk differs from the page, no later
# writeback will ever write it: the user's write is lost.  Each lost version
# of a buffer is recorded once.  Returns the number of lost buffers;
# @state gets PG_dirty, dirty PTEs, dirty buffers (bit mask), lost (mask).
cdef int check_lost_write(page *p, long *state) noexcept nogil:
    cdef address_space *mapping
    cdef buffer_head *head
    cdef buffer_head *bh
    cdef vm_area_struct *vma
    cdef unsigned long pte, data, disk
    cdef int i, lost = 0, ptes_dirty = 0
    cdef long bufs_dirty = 0, lost_mask = 0
    cdef bint page_dirty

    lock_page(p)
    mapping = page_mapping(p)
    if mapping == NULL or not page_has_buffers(p):
        unlock_page(p)
        state[0] = state[1] = state[2] = state[3] = 0
        return 0
    head = page_buffers(p)
    for i in range(D.nbuffers):
        lock_buffer(&head[i])
    for i in range(D.nvmas):
        if D.vmas[i].vm_mapping == mapping:
            spin_lock(&D.vmas[i].ptl)

    for i in range(D.nvmas):
        vma = &D.vmas[i]
        if vma.vm_mapping == mapping:
            pte = vma.ptes[p.index]
            if pte_maps(pte, p) and pte_dirty(pte):
                ptes_dirty += 1
    page_dirty = PageDirty(p)
    for i in range(D.nbuffers):
        if buffer_dirty(&head[i]):
            bufs_dirty |= (<long>1) << i
    if not page_dirty and ptes_dirty == 0 and bufs_dirty == 0:
        for i in range(D.nbuffers):
            bh = &head[i]
            data = __atomic_load_ul(bh.b_data)
            disk = __atomic_load_ul(&D.disk[bh.b_blocknr])
            if data != disk:
                lost += 1
                lost_mask |= (<long>1) << i
                if bh.pc_lost_reported != data:
                    bh.pc_lost_reported = data
                    pc_bug(PC_BUG_LOST_WRITE, p, "check_lost_write",
                           <unsigned long>i, (data << 32) | (disk & 0xffffffffUL))

    for i in range(D.nvmas):
        if D.vmas[i].vm_mapping == mapping:
            spin_unlock(&D.vmas[i].ptl)
    for i in range(D.nbuffers):
        unlock_buffer(&head[i])
    unlock_page(p)
    state[0] = page_dirty
    state[1] = ptes_dirty
    state[2] = bufs_dirty
    state[3] = lost_mask
    return lost


# =========================================================================
# The Python face of the dirty path
# =========================================================================

def dirty_configure(int nbuffers=4, int nvmas=2, int mapping=0):
    """Set up the dirty path on the configured model: @nbuffers buffers per
    page (blocks of a simulated disk, all zero), and @nvmas shared writable
    mappings (vmas) of file @mapping, no page mapped yet.  Call after
    configure(); no thread may be inside the model."""
    cdef long i
    if A.pages == NULL:
        raise PagecoreError("the model is not configured: call configure() first")
    if not 1 <= nbuffers <= 32:
        raise PagecoreError("nbuffers must be in 1..32")
    if not 1 <= nvmas <= 64:
        raise PagecoreError("nvmas must be in 1..64")
    _mapping(mapping)
    _dirty_free()
    D.bhs = <buffer_head *>calloc(A.npages * nbuffers, sizeof(buffer_head))
    D.data = <unsigned long *>calloc(A.npages * nbuffers, sizeof(unsigned long))
    D.disk = <unsigned long *>calloc(A.npages * nbuffers, sizeof(unsigned long))
    D.mapcount = <atomic_t *>calloc(A.npages, sizeof(atomic_t))
    D.vmas = <vm_area_struct *>calloc(nvmas, sizeof(vm_area_struct))
    D.dmaps = <pc_dirty_mapping *>calloc(nmappings, sizeof(pc_dirty_mapping))
    if (D.bhs == NULL or D.data == NULL or D.disk == NULL or D.mapcount == NULL
            or D.vmas == NULL or D.dmaps == NULL):
        _dirty_free()
        raise MemoryError()
    for i in range(nvmas):
        D.vmas[i].ptes = <unsigned long *>calloc(A.npages, sizeof(unsigned long))
        if D.vmas[i].ptes == NULL:
            D.nvmas = <int>i
            _dirty_free()
            raise MemoryError()
        D.vmas[i].vm_flags = VM_WRITE | VM_SHARED
        D.vmas[i].vm_mapping = &mappings[mapping]
        D.vmas[i].id = <int>i
        spin_lock_init(&D.vmas[i].ptl)
    for i in range(nmappings):
        spin_lock_init(&D.dmaps[i].private_lock)
        spin_lock_init(&D.dmaps[i].i_mmap_lock)
    D.pages = A.pages
    D.npages = A.npages
    D.nbuffers = nbuffers
    D.nvmas = nvmas
    D.nmappings = nmappings


cdef _dirty_free():
    cdef int i
    if D.vmas != NULL:
        for i in range(D.nvmas):
            free(D.vmas[i].ptes)
    free(D.bhs)
    free(D.data)
    free(D.disk)
    free(D.mapcount)
    free(D.vmas)
    free(D.dmaps)
    memset(&D, 0, sizeof(D))


cdef int _dirty_ready() except -1:
    if D.bhs == NULL or D.pages != A.pages or D.npages != A.npages or D.nmappings != nmappings:
        raise PagecoreError("the dirty path is not set up for this model: "
                            "call dirty_configure() after configure()")
    return 0


cdef page *_dpage(long pid) except NULL:
    cdef page *p = _page(pid)
    _dirty_ready()
    return p


cdef page *_bpage(long pid) except NULL:
    # a page with buffers, in a mapping, at an index the vmas can map
    cdef page *p = _dpage(pid)
    if not page_has_buffers(p):
        raise PagecoreError("page %d has no buffers: create_page_buffers() first" % pid)
    return p


cdef vm_area_struct *_vma(int vid, page *p) except NULL:
    _dirty_ready()
    if vid < 0 or vid >= D.nvmas:
        raise PagecoreError("vma %d out of range 0..%d" % (vid, D.nvmas - 1))
    if page_mapping(p) != D.vmas[vid].vm_mapping:
        raise PagecoreError("page %d is not in the file vma %d maps" % (p.pc_id, vid))
    if p.index >= <unsigned long>D.npages:
        raise PagecoreError("page index %d beyond what a vma maps (< %d)" % (p.index, D.npages))
    return &D.vmas[vid]


cdef buffer_head *_bh(page *p, int nr) except NULL:
    if nr < 0 or nr >= D.nbuffers:
        raise PagecoreError("buffer %d out of range 0..%d" % (nr, D.nbuffers - 1))
    return &page_buffers(p)[nr]


def dirty_geometry():
    """nbuffers, nvmas of the dirty path as set up."""
    _dirty_ready()
    return {"nbuffers": D.nbuffers, "nvmas": D.nvmas}


def create_page_buffers_(long pid):
    """create_empty_buffers + read: the page gets clean uptodate buffers,
    its contents what the disk holds.  The page must be in a mapping."""
    cdef page *p = _dpage(pid)
    if page_mapping(p) == NULL:
        raise PagecoreError("page %d is not in a mapping" % pid)
    if page_has_buffers(p):
        raise PagecoreError("page %d already has buffers" % pid)
    with nogil:
        create_page_buffers(p)


def do_no_page_(int vma, long pid, bint write=False):
    """Fault page @pid into @vma: read-only and clean, or (@write) writable
    and dirty followed by set_page_dirty()."""
    cdef page *p = _bpage(pid)
    cdef vm_area_struct *v = _vma(vma, p)
    with nogil:
        do_no_page(v, p, write)


def mmap_write(int vma, long pid, int buf, unsigned long value):
    """A user store of @value into buffer @buf's part of page @pid through
    @vma.  Returns the faults it took (0: the PTE was writable, and no
    buffer was marked dirty)."""
    cdef page *p = _bpage(pid)
    cdef vm_area_struct *v = _vma(vma, p)
    cdef int faults
    _bh(p, buf)
    if value > 0xffffffffUL:
        raise PagecoreError("value must fit in 32 bits")
    with nogil:
        faults = mmap_store(v, p, buf, value)
    return faults


def zap_pte_(int vma, long pid):
    """munmap of the page from @vma: a dirty PTE is handed to set_page_dirty."""
    cdef page *p = _bpage(pid)
    cdef vm_area_struct *v = _vma(vma, p)
    with nogil:
        zap_pte(v, p)


def page_mkclean_(long pid):
    """page_mkclean(): how many PTEs it cleaned.  The caller holds the page lock."""
    cdef page *p = _dpage(pid)
    cdef int ret
    if not PageLocked(p):
        raise PagecoreError("page_mkclean: page %d is not locked" % pid)
    with nogil:
        ret = page_mkclean(p)
    return ret


def set_page_dirty_(long pid):
    """set_page_dirty() (__set_page_dirty_buffers for a page in a mapping)."""
    cdef page *p = _dpage(pid)
    cdef int ret
    with nogil:
        ret = set_page_dirty(p)
    return ret


def set_page_dirty_buffers_(long pid):
    """__set_page_dirty_buffers(): every buffer dirty, then PG_dirty."""
    cdef page *p = _dpage(pid)
    cdef int ret
    with nogil:
        ret = __set_page_dirty_buffers(p)
    return ret


def clear_page_dirty_for_io_(long pid):
    """clear_page_dirty_for_io() of the configured variant; the caller holds
    the page lock."""
    cdef page *p = _dpage(pid)
    cdef int ret
    if not PageLocked(p):
        raise PagecoreError("clear_page_dirty_for_io: page %d is not locked" % pid)
    with nogil:
        ret = clear_page_dirty_for_io(p)
    return ret


def block_write_full_page_(long pid):
    """__block_write_full_page(): write the dirty buffers; the caller holds
    the page lock, which it drops.  Returns the buffers written."""
    cdef page *p = _bpage(pid)
    cdef int n
    if not PageLocked(p):
        raise PagecoreError("__block_write_full_page: page %d is not locked" % pid)
    with nogil:
        n = __block_write_full_page(p)
    return n


def ll_rw_block_write_(long pid, int buf):
    """The filesystem writes buffer @buf of page @pid itself
    (ll_rw_block(WRITE)); True if it was dirty and got written."""
    cdef page *p = _bpage(pid)
    cdef buffer_head *bh = _bh(p, buf)
    cdef int ret
    with nogil:
        ret = ll_rw_block_write(bh)
    return bool(ret)


_WCP = {WCP_SKIPPED: "skipped", WCP_BUG: "bug_on", WCP_STARTED: "started",
        WCP_WAITED: "waited", WCP_WRITTEN: "written"}


def write_cache_pages_in(long pid, int mid, how="write"):
    """write_cache_pages() for one page of mapping @mid: lock_page; skip it
    if truncated; wait_on_page_writeback; BUG_ON(PageWriteback); then by
    @how: "write" (the dirty path: skip a clean page, clear_page_dirty_for_io,
    __block_write_full_page), "start" (set_page_writeback only, the caller
    ends it), or "wait" (nothing more).  Returns (what happened, buffers
    written): what is "skipped", "bug_on", "started", "waited" or "written"."""
    cdef page *p = _page(pid)
    cdef address_space *m = _mapping(mid)
    cdef int h, ret, nr = 0
    if how == "write":
        h = WCP_WRITTEN
        _bpage(pid)
    elif how == "start":
        h = WCP_STARTED
    elif how == "wait":
        h = WCP_WAITED
    else:
        raise PagecoreError("how must be write, start or wait")
    with nogil:
        ret = write_cache_pages_one_page(p, m, h, &nr)
    return _WCP[ret], nr


def check_lost_write_(long pid):
    """Sync-and-verify one page (see check_lost_write in _dirty.pxi): records
    lost_write for each buffer whose write is lost.  Returns what it saw."""
    cdef page *p = _bpage(pid)
    cdef long st[4]
    cdef int lost
    with nogil:
        lost = check_lost_write(p, st)
    return {"lost": lost, "PG_dirty": bool(st[0]), "ptes_dirty": st[1],
            "buffers_dirty": [i for i in range(D.nbuffers) if st[2] >> i & 1],
            "lost_buffers": [i for i in range(D.nbuffers) if st[3] >> i & 1]}


def dirty_state(long pid):
    """A racy snapshot, for reading: PG_dirty, PG_writeback, each buffer
    (dirty, locked, page contents, disk contents) and each vma's PTE."""
    cdef page *p = _dpage(pid)
    cdef buffer_head *head
    cdef int i
    cdef unsigned long pte
    bufs = []
    if page_has_buffers(p):
        head = page_buffers(p)
        for i in range(D.nbuffers):
            bufs.append({"dirty": bool(buffer_dirty(&head[i])),
                         "locked": bool(buffer_locked(&head[i])),
                         "data": __atomic_load_ul(head[i].b_data),
                         "disk": __atomic_load_ul(&D.disk[head[i].b_blocknr])})
    ptes = []
    for i in range(D.nvmas):
        pte = READ_ONCE_ul(&D.vmas[i].ptes[p.index]) if p.index < <unsigned long>D.npages else 0
        ptes.append({"present": pte_maps(pte, p), "write": pte_maps(pte, p) and pte_write(pte),
                     "dirty": pte_maps(pte, p) and pte_dirty(pte)})
    return {"PG_dirty": bool(PageDirty(p)), "PG_writeback": bool(PageWriteback(p)),
            "mapcount": atomic_read(&D.mapcount[p.pc_id]),
            "buffers": bufs, "ptes": ptes}

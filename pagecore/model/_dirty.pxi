# The dirty-page path of 7658cc289288 ("VM: Fix nasty and subtle race in
# shared mmap'ed page writeback"; docs/MODEL.md, "The lost mmap write"), as
# the harness sees it: the types of pagecore/dirty.h, and the variant's
# functions of the path (fs/buffer.c, mm/rmap.c, mm/memory.c,
# mm/page-writeback.c under pagecore/kernel/, and the variant's own
# clear_page_dirty_for_io()), each a call through its table.

cdef extern from "pagecore/harness.h" nogil:
    enum:
        WCP_SKIPPED
        WCP_BUG
        WCP_STARTED
        WCP_WAITED
        WCP_WRITTEN
        VM_WRITE
        VM_SHARED

    struct buffer_head:
        unsigned long b_state
        buffer_head *b_this_page
        page *b_page
        unsigned long b_blocknr
        unsigned long *b_data
        int pc_nr
        unsigned long pc_lost_reported

    struct vm_area_struct:
        unsigned long vm_flags
        address_space *vm_mapping
        spinlock_t ptl
        unsigned long *ptes
        int id

    struct pc_dirty_state:
        page *pages
        long npages
        int nbuffers
        int nvmas
        int nmappings
        buffer_head *bhs
        unsigned long *data
        unsigned long *disk
        atomic_t *mapcount
        vm_area_struct *vmas
    pc_dirty_state D "pc_dirty"

    bint buffer_dirty(buffer_head *bh)
    bint buffer_locked(buffer_head *bh)
    bint page_has_buffers(page *p)
    buffer_head *page_buffers(page *p)
    bint pte_write(unsigned long pte)
    bint pte_dirty(unsigned long pte)
    bint pte_maps(unsigned long pte, page *p)

    int clear_page_dirty_for_io(page *p)
    int set_page_dirty(page *p)
    int __set_page_dirty_buffers(page *p)
    int page_mkclean(page *p)
    int __block_write_full_page(page *p)
    int ll_rw_block_write(buffer_head *bh)
    int write_cache_pages_one_page(page *p, address_space *mapping, int how,
                                   int *nr_to_write)
    void create_page_buffers(page *p)
    void do_no_page(vm_area_struct *vma, page *p, int write_access)
    int mmap_store(vm_area_struct *vma, page *p, int nr, unsigned long value)
    void zap_pte(vm_area_struct *vma, page *p)
    int check_lost_write(page *p, long *state)


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
    if (D.bhs == NULL or D.data == NULL or D.disk == NULL or D.mapcount == NULL
            or D.vmas == NULL):
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


cdef struct _wcp_in:
    page *p
    address_space *m
    int how
    int nr
    int ret


cdef void _u_write_cache_pages_in(void *a) noexcept nogil:
    cdef _wcp_in *c = <_wcp_in *>a
    c.ret = write_cache_pages_one_page(c.p, c.m, c.how, &c.nr)


def write_cache_pages_in(long pid, int mid, how="write"):
    """write_cache_pages() for one page of mapping @mid: lock_page; skip it
    if truncated; wait_on_page_writeback; BUG_ON(PageWriteback); then by
    @how: "write" (the dirty path: skip a clean page, clear_page_dirty_for_io,
    __block_write_full_page), "start" (set_page_writeback only, the caller
    ends it), or "wait" (nothing more).  Returns (what happened, buffers
    written): what is "skipped", "bug_on", "started", "waited" or "written"."""
    cdef page *p = _page(pid)
    cdef address_space *m = _mapping(mid)
    cdef _wcp_in c
    cdef int h
    if how == "write":
        h = WCP_WRITTEN
        _bpage(pid)
    elif how == "start":
        h = WCP_STARTED
    elif how == "wait":
        h = WCP_WAITED
    else:
        raise PagecoreError("how must be write, start or wait")
    c.p = p
    c.m = m
    c.how = h
    c.nr = 0
    c.ret = WCP_SKIPPED
    with nogil:
        pc_call_unwindable(_u_write_cache_pages_in, &c)
    return _WCP[c.ret], c.nr


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

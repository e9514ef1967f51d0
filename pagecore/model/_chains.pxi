# Colliding entries in the wait table: the hash chains a wake walks past.

# ---- the wait table -------------------------------------------------------

def bucket_of(long pid):
    return hash_ptr(_page(pid), PAGE_WAIT_TABLE_BITS)


def bucket_len(unsigned long bucket):
    """Entries queued in a bucket now (bookmarks excluded)."""
    cdef wait_queue_head *q
    cdef list_head *e
    cdef long n = 0
    if page_wait_table == NULL:
        raise PagecoreError("the model is not configured: call configure() first")
    if bucket >= (1UL << PAGE_WAIT_TABLE_BITS):
        raise PagecoreError("bucket %d out of range" % bucket)
    q = &page_wait_table[bucket]
    with nogil:
        spin_lock(&q.lock)
        e = q.head.next
        while e != &q.head:
            if not ((<wait_queue_entry *>e).flags & WQ_FLAG_BOOKMARK):
                n += 1
            e = e.next
        spin_unlock(&q.lock)
    return n


# Colliding entries as the kernel has them.  Each entry of a wait queue is
# a wait_page_queue on the stack of the task that waits, so the entries a
# wake walks past lie on other tasks' stacks: each on a cache line of its
# own, on a page of its own, in no order a prefetcher could follow, and,
# while their tasks sleep, usually in no cache of the waker's.  A block of
# them (one park_colliding() call) is laid out that way: one entry per
# 64-byte line, one per 4 KiB page while there are at most SPREAD_PAGES of
# them (more share pages, on distinct lines), at a seeded line within its
# page (so that the entries do not all fall in one cache set), linked into
# the bucket in a seeded shuffled order.  evict_chain() makes them cold.
cdef enum:
    SPREAD_PAGES = 16384        # 64 MiB of address space, 4 KiB touched per entry

cdef struct chain_block:
    char *region
    wait_page_queue **entries
    long n
    chain_block *next

cdef chain_block *chain_blocks = NULL
cdef unsigned long chain_blocks_made = 0


cdef void evict_chain(chain_block *b) noexcept nogil:
    cdef long i
    for i in range(b.n):
        pc_evict_line(b.entries[i])


cdef void evict_colliding_all() noexcept nogil:
    cdef chain_block *b = chain_blocks
    while b != NULL:
        evict_chain(b)
        b = b.next
    pc_evict_done()


cdef void _free_block(chain_block *b) noexcept nogil:
    free(b.region)
    free(b.entries)
    free(b)


# Queue @n entries for other pages in @p's bucket, at its tail.
cdef chain_block *park_colliding_block(page *p, long n, int bit_nr) except NULL:
    global chain_blocks, chain_blocks_made, nparked
    cdef unsigned long bucket = hash_ptr(p, PAGE_WAIT_TABLE_BITS)
    cdef wait_queue_head *q = &page_wait_table[bucket]
    cdef chain_block *b
    cdef wait_page_queue *w
    cdef long *perm
    cdef long i, j, t, npg, slot, pg
    cdef uint64_t rng, lrng
    b = <chain_block *>calloc(1, sizeof(chain_block))
    if b == NULL:
        raise MemoryError()
    npg = min(n, <long>SPREAD_PAGES)
    npg = max(npg, (n + 63) // 64, 1)
    perm = <long *>malloc(max(n, 1) * sizeof(long))
    b.entries = <wait_page_queue **>malloc(max(n, 1) * sizeof(void *))
    if posix_memalign(<void **>&b.region, 4096, npg * 4096) != 0:
        b.region = NULL
    if perm == NULL or b.entries == NULL or b.region == NULL:
        free(perm)
        _free_block(b)
        raise MemoryError()
    b.n = n
    # Not the bucket: its index follows the pool's address, which malloc decides, and the
    # same seed must give the same layout.
    rng = chain_seed ^ (chain_blocks_made * 0x9E3779B97F4A7C15ULL)
    chain_blocks_made += 1
    with nogil:
        for i in range(n):
            perm[i] = i
        for i in range(n - 1, 0, -1):
            j = <long>(pc_splitmix64(&rng) % <uint64_t>(i + 1))
            t = perm[i]
            perm[i] = perm[j]
            perm[j] = t
        for i in range(n):
            slot = perm[i]
            pg = slot % npg
            lrng = rng ^ (<uint64_t>pg * 0xA0761D6478BD642FULL)
            w = <wait_page_queue *>(b.region + pg * 4096 +
                                    ((pc_splitmix64(&lrng) + slot // npg) % 64) * 64)
            INIT_LIST_HEAD(&w.wait.entry)
            w.wait.flags = 0
            w.wait.private = NULL
            w.wait.func = pc_ops_cur.wake_page_function
            w.bit_nr = bit_nr
            w.page = <page *>colliding_address(bucket, <uint64_t>(nparked + i + 1),
                                               PAGE_WAIT_TABLE_BITS)
            b.entries[i] = w
        free(perm)
        spin_lock(&q.lock)
        for i in range(n):
            __add_wait_queue_entry_tail(q, &b.entries[i].wait)
        spin_unlock(&q.lock)
    b.next = chain_blocks
    chain_blocks = b
    nparked += n
    return b


# Take block @b's entries off their bucket and free it.
cdef void unpark_block(chain_block *b) noexcept nogil:
    global chain_blocks, nparked
    cdef chain_block **pp = &chain_blocks
    cdef wait_page_queue *w
    cdef wait_queue_head *q
    cdef long i
    while pp[0] != NULL and pp[0] != b:
        pp = &pp[0].next
    if pp[0] == b:
        pp[0] = b.next
    for i in range(b.n):
        w = b.entries[i]
        q = &page_wait_table[hash_ptr(w.page, PAGE_WAIT_TABLE_BITS)]
        spin_lock(&q.lock)
        if not list_empty(&w.wait.entry):
            list_del_init(&w.wait.entry)
        spin_unlock(&q.lock)
    nparked -= b.n
    _free_block(b)


def park_colliding(long pid, long n, int bit_nr=-1):
    """Queue @n entries for other pages, all hashing to @pid's bucket, behind
    whatever is queued there.  They wait on @bit_nr (PG_writeback by
    default) of their own pages, so a wake of @pid walks past them.  Each
    lies on a cache line and (up to 16384 of them) a 4 KiB page of its own,
    linked in a shuffled order seeded by configure(placement_seed=...);
    evict_colliding() makes them cold."""
    cdef page *p = _page(pid)
    if n < 0:
        raise PagecoreError("n must be >= 0")
    if n > (1 << 20):
        raise PagecoreError("n must be <= %d" % (1 << 20))
    if bit_nr < 0:
        bit_nr = PG_writeback
    if n:
        park_colliding_block(p, n, bit_nr)
    return n


def parked_entries():
    """Addresses of the parked entries, in the order a wake walks them
    within each park_colliding() call (placement tests, diagnostics)."""
    cdef chain_block *b = chain_blocks
    cdef long i
    out = []
    while b != NULL:
        out.append([<uintptr_t>b.entries[i] for i in range(b.n)])
        b = b.next
    return out[::-1]


def evict_colliding():
    """Evict every parked entry's line from the caches (clflush on x86-64;
    elsewhere a walk over a buffer twice the last-level cache): the cold
    mode of a hash chain.  Returns the method used."""
    with nogil:
        evict_colliding_all()
    return "clflush" if PC_EVICT_BY_CLFLUSH else "eviction-buffer"


def unpark_colliding():
    """Take every parked entry off its bucket and free it."""
    while chain_blocks != NULL:
        unpark_block(chain_blocks)

/*
 * pagecore/kernel/include/pagecore/dirty.h: the dirty-page path of
 * 7658cc289288 ("VM: Fix nasty and subtle race in shared mmap'ed page
 * writeback"; docs/MODEL.md, "The lost mmap write"): buffer_heads that carry
 * their own dirty bits, shared writable mappings whose PTEs carry write and
 * dirty bits, page_mkclean, set_page_dirty and __set_page_dirty_buffers,
 * both shapes of clear_page_dirty_for_io, a writepage modelled on
 * __block_write_full_page over a simulated disk, the filesystem writing
 * single buffers behind the VM's back (ll_rw_block), and write_cache_pages
 * for one page.  Names and the order of operations follow fs/buffer.c,
 * mm/rmap.c, mm/memory.c and mm/page-writeback.c of 2.6.19/2.6.20; the code
 * is in pagecore/kernel/fs/buffer.c, mm/rmap.c, mm/memory.c and
 * mm/page-writeback.c.
 *
 * Page contents are one word per buffer-sized block, a version number the
 * user writes; the disk is one word per block.  A write is lost when, with
 * nothing left that says the page is dirty (no dirty PTE, PG_dirty clear, no
 * dirty buffer, no I/O in flight), the disk holds something other than what
 * the user wrote: check_lost_write() looks, and records PC_BUG_LOST_WRITE.
 *
 * Left out: get_block (every buffer is mapped to its block when the page's
 * buffers are made), dirty accounting (NR_FILE_DIRTY, balance_dirty_pages),
 * reads, private mappings (a write to one copies the page and never dirties
 * the file), and asynchronous I/O: submit_bh() copies to the disk and
 * completes the buffer at once, as a very fast disk would.
 *
 * pagecore/mm.h includes this header, after struct page and struct
 * address_space and before the prototypes of ops.def; it does not stand on
 * its own.
 */
#ifndef PAGECORE_DIRTY_H
#define PAGECORE_DIRTY_H

/* enum bh_state_bits, include/linux/buffer_head.h (2.6.19) */
enum bh_state_bits {
	BH_Uptodate = 0,
	BH_Dirty = 1,
	BH_Lock = 2,
	BH_Req = 3,
	BH_Uptodate_Lock = 4,	/* bit spinlock in the first buffer of a page */
	BH_Mapped = 5,
	BH_Async_Write = 8,
};

/* x86 PTE bits, and the vm_flags that matter here */
#define _PAGE_PRESENT	0x001UL
#define _PAGE_RW	0x002UL
#define _PAGE_ACCESSED	0x020UL
#define _PAGE_DIRTY	0x040UL
#define PTE_PFN_SHIFT	12
#define VM_WRITE	0x00000002UL
#define VM_SHARED	0x00000008UL

/* What write_cache_pages_one_page() did with the page. */
enum {
	WCP_SKIPPED = 0,	/* truncated, clean, or clear_page_dirty_for_io said no */
	WCP_BUG = 1,		/* BUG_ON(PageWriteback) after wait_on_page_writeback */
	WCP_STARTED = 2,	/* writeback set, to be ended by the caller's completion */
	WCP_WAITED = 3,		/* only waited (no writepage) */
	WCP_WRITTEN = 4,	/* __block_write_full_page ran */
};

struct buffer_head {
	unsigned long b_state;
	struct buffer_head *b_this_page;	/* circular list of the page's buffers */
	struct page *b_page;
	unsigned long b_blocknr;
	unsigned long *b_data;			/* this buffer's part of the page frame */
	void (*b_end_io)(struct buffer_head *bh, int uptodate);
	int pc_nr;				/* model: index of the buffer in its page */
	unsigned long pc_lost_reported;		/* model: the lost version already reported */
};

struct vm_area_struct {
	unsigned long vm_flags;
	struct address_space *vm_mapping;	/* vm_file->f_mapping */
	spinlock_t ptl;				/* the page table lock of this mm */
	unsigned long *ptes;			/* ptes[index]: the PTE mapping file page @index */
	int id;
};

/*
 * The dirty path's state, shared by the harness and the variant.  The per
 * address_space locks it needs (mapping->private_lock, mapping->i_mmap_lock)
 * are in struct address_space.
 */
struct pc_dirty_state {
	struct page *pages;			/* the pool the state was made for */
	long npages;
	int nbuffers;
	int nvmas;
	int nmappings;
	struct buffer_head *bhs;		/* npages * nbuffers */
	unsigned long *data;			/* the page frames: npages * nbuffers words */
	unsigned long *disk;			/* the simulated disk: one word per block */
	atomic_t *mapcount;			/* page->_mapcount + 1 */
	struct vm_area_struct *vmas;
};
PC_SHARED struct pc_dirty_state pc_dirty;

/* ------------------------------------------------------------------ */
/* buffer_head bitops (BUFFER_FNS / TAS_BUFFER_FNS)                    */
/* ------------------------------------------------------------------ */

static inline int buffer_dirty(struct buffer_head *bh)
{
	return test_bit(BH_Dirty, &bh->b_state);
}

static inline int buffer_locked(struct buffer_head *bh)
{
	return test_bit(BH_Lock, &bh->b_state);
}

static inline int buffer_async_write(struct buffer_head *bh)
{
	return test_bit(BH_Async_Write, &bh->b_state);
}

static inline void set_buffer_dirty(struct buffer_head *bh)
{
	set_bit(BH_Dirty, &bh->b_state);
}

static inline int test_clear_buffer_dirty(struct buffer_head *bh)
{
	return test_and_clear_bit(BH_Dirty, &bh->b_state);
}

static inline void set_buffer_uptodate(struct buffer_head *bh)
{
	set_bit(BH_Uptodate, &bh->b_state);
}

static inline void mark_buffer_async_write(struct buffer_head *bh)
{
	set_bit(BH_Async_Write, &bh->b_state);
}

static inline void clear_buffer_async_write(struct buffer_head *bh)
{
	clear_bit(BH_Async_Write, &bh->b_state);
}

static inline int test_set_buffer_locked(struct buffer_head *bh)
{
	return test_and_set_bit_lock(BH_Lock, &bh->b_state);
}

/*
 * lock_buffer() sleeps in __wait_on_bit_lock(); no holder of a buffer lock
 * in the model ever sleeps (the disk completes at once), so waiting spins
 * and yields.
 */
static inline void lock_buffer(struct buffer_head *bh)
{
	while (test_set_buffer_locked(bh)) {
		while (buffer_locked(bh)) {
			cpu_relax();	/* a scheduling point of the explorer, a pause otherwise */
			sched_yield();
		}
	}
}

static inline void unlock_buffer(struct buffer_head *bh)
{
	clear_bit_unlock(BH_Lock, &bh->b_state);
}

static inline void bit_spin_lock(int nr, unsigned long *addr)
{
	while (test_and_set_bit_lock(nr, addr)) {
		while (test_bit(nr, addr))
			cpu_relax();
	}
}

static inline void bit_spin_unlock(int nr, unsigned long *addr)
{
	clear_bit_unlock(nr, addr);
}

static inline int page_has_buffers(struct page *page)
{
	return page->private != 0;
}

static inline struct buffer_head *page_buffers(struct page *page)
{
	return (struct buffer_head *)page->private;
}

static inline int page_mapped(struct page *page)
{
	return atomic_read(&pc_dirty.mapcount[page->pc_id]) > 0;
}

/* ------------------------------------------------------------------ */
/* PTEs                                                                */
/* ------------------------------------------------------------------ */

static inline int pte_present(unsigned long pte)
{
	return (pte & _PAGE_PRESENT) != 0;
}

static inline int pte_write(unsigned long pte)
{
	return (pte & _PAGE_RW) != 0;
}

static inline int pte_dirty(unsigned long pte)
{
	return (pte & _PAGE_DIRTY) != 0;
}

static inline unsigned long mk_pte(struct page *page, unsigned long prot)
{
	return (((unsigned long)page->pc_id + 1) << PTE_PFN_SHIFT) | prot;
}

static inline int pte_maps(unsigned long pte, struct page *page)
{
	return pte_present(pte) && (pte >> PTE_PFN_SHIFT) == (unsigned long)page->pc_id + 1;
}

/* maybe_mkwrite(): writable only in a VM_WRITE vma */
static inline unsigned long maybe_mkwrite(unsigned long pte, struct vm_area_struct *vma)
{
	if (vma->vm_flags & VM_WRITE)
		pte |= _PAGE_RW;
	return pte;
}

/* ------------------------------------------------------------------ */
/* The functions of the dirty path                                     */
/* ------------------------------------------------------------------ */

/*
 * Those the harness calls are in ops.def as well (marked "op"): in the
 * harness they are calls through the loaded variant's table (ops.h), so
 * these prototypes are a variant's only.
 */
#ifdef PAGECORE_VARIANT
/* fs/buffer.c */
int __set_page_dirty_buffers(struct page *page);		/* op */
void submit_bh_write(struct buffer_head *bh);
void end_buffer_write_sync(struct buffer_head *bh, int uptodate);
void end_buffer_async_write(struct buffer_head *bh, int uptodate);
int ll_rw_block_write(struct buffer_head *bh);			/* op */
int __block_write_full_page(struct page *page);			/* op */
void create_page_buffers(struct page *page);			/* op */
/* mm/rmap.c */
unsigned long *page_check_address(struct page *page, struct vm_area_struct *vma);
int page_mkclean_one(struct page *page, struct vm_area_struct *vma);
int page_mkclean_file(struct address_space *mapping, struct page *page);
int page_mkclean(struct page *page);				/* op */
void page_add_file_rmap(struct page *page);
void page_remove_rmap(struct page *page);
/* mm/memory.c */
void do_no_page(struct vm_area_struct *vma, struct page *page, int write_access);	/* op */
void do_wp_page(struct vm_area_struct *vma, struct page *page);
int mmap_store(struct vm_area_struct *vma, struct page *page, int nr,
	       unsigned long value);					/* op */
void zap_pte(struct vm_area_struct *vma, struct page *page);	/* op */
int check_lost_write(struct page *page, long *state);		/* op */
/* mm/page-writeback.c */
int set_page_dirty(struct page *page);				/* op */
int clear_page_dirty_for_io(struct page *page);			/* op */
int write_cache_pages_one_page(struct page *page, struct address_space *mapping, int how,
			       int *nr_to_write);		/* op */
#endif /* PAGECORE_VARIANT */

#endif /* PAGECORE_DIRTY_H */

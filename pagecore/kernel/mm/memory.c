// SPDX-License-Identifier: GPL-2.0-only
/*
 * pagecore/kernel/mm/memory.c: faults and user stores through a shared
 * writable mapping, the dirty path's side of mm/memory.c of 2.6.19
 * (pagecore/dirty.h), and the model's check for a lost write.
 */

/*
 * do_no_page(), 2.6.19: map the page.  A shared writable vma tracks dirty
 * pages (vma_wants_writenotify), so vm_page_prot is read-only and only a
 * write fault maps the page writable, dirty, and calls set_page_dirty().
 */
void do_no_page(struct vm_area_struct *vma, struct page *page, int write_access)
{
	unsigned long *pte = &vma->ptes[page->index];
	unsigned long entry;
	int dirty_page = 0;

	spin_lock(&vma->ptl);
	if (*pte == 0) {
		entry = mk_pte(page, _PAGE_PRESENT | _PAGE_ACCESSED);
		if (write_access) {
			entry = maybe_mkwrite(entry | _PAGE_DIRTY, vma);
			dirty_page = 1;
		}
		WRITE_ONCE(*pte, entry);
		page_add_file_rmap(page);
	}
	spin_unlock(&vma->ptl);
	if (dirty_page)
		set_page_dirty(page);	/* set_page_dirty_balance() */
}

/*
 * do_wp_page(), 2.6.19, the shared-writable "reuse" case: make the PTE
 * writable and dirty under the page table lock, then, after dropping it,
 * set_page_dirty_balance(dirty_page).
 */
void do_wp_page(struct vm_area_struct *vma, struct page *page)
{
	unsigned long *pte = &vma->ptes[page->index];
	unsigned long entry;

	spin_lock(&vma->ptl);
	entry = *pte;
	if (!pte_maps(entry, page) || pte_write(entry)) {
		spin_unlock(&vma->ptl);	/* someone else fixed the PTE up */
		return;
	}
	entry = maybe_mkwrite(entry | _PAGE_DIRTY | _PAGE_ACCESSED, vma);
	WRITE_ONCE(*pte, entry);	/* ptep_set_access_flags */
	spin_unlock(&vma->ptl);
	pagecore_window(fault_mid);
	set_page_dirty(page);		/* set_page_dirty_balance(dirty_page) */
}

/*
 * A user store into the part of the page that buffer @nr covers.  Through a
 * present writable PTE the CPU sets the dirty bit and stores, and the kernel
 * hears nothing: no buffer is marked.  Otherwise the store faults, and is
 * retried once the fault has made the PTE writable.  Returns the faults
 * taken, or -1 if the watchdog gave up on it.
 */
int mmap_store(struct vm_area_struct *vma, struct page *page, int nr, unsigned long value)
{
	unsigned long *pte = &vma->ptes[page->index];
	unsigned long entry;
	int faults = 0;

	for (;;) {
		spin_lock(&vma->ptl);
		entry = *pte;
		if (pte_maps(entry, page) && pte_write(entry)) {
			WRITE_ONCE(*pte, entry | _PAGE_DIRTY | _PAGE_ACCESSED);
			smp_store_release(&pc_dirty.data[page->pc_id * pc_dirty.nbuffers + nr], value);
			spin_unlock(&vma->ptl);
			return faults;
		}
		spin_unlock(&vma->ptl);
		if (READ_ONCE(pc_abort))
			return -1;
		faults++;
		if (pte_present(entry))
			do_wp_page(vma, page);
		else
			do_no_page(vma, page, 1);
	}
}

/*
 * zap_pte_range() for one page (munmap): a dirty PTE hands its dirtiness to
 * the page before it goes.
 */
void zap_pte(struct vm_area_struct *vma, struct page *page)
{
	unsigned long *pte = &vma->ptes[page->index];
	unsigned long ptent;

	spin_lock(&vma->ptl);
	ptent = *pte;
	if (pte_maps(ptent, page)) {
		WRITE_ONCE(*pte, 0);	/* ptep_get_and_clear_full */
		if (pte_dirty(ptent))
			set_page_dirty(page);
		page_remove_rmap(page);
	}
	spin_unlock(&vma->ptl);
}

/* ------------------------------------------------------------------ */
/* The check for a lost write                                          */
/* ------------------------------------------------------------------ */

/*
 * A model check, not kernel code: "sync and verify".  With the page lock,
 * every buffer lock (no I/O in flight) and every page table lock of the
 * file's vmas held, nothing can clean or dirty the page, so what is seen is
 * one state.  If nothing says the page is dirty and a block on disk differs
 * from the page, no later writeback will ever write it: the user's write is
 * lost.  Each lost version of a buffer is recorded once.  Returns the
 * number of lost buffers; @state gets PG_dirty, dirty PTEs, dirty buffers
 * (bit mask), lost (mask).
 */
int check_lost_write(struct page *page, long *state)
{
	struct address_space *mapping;
	struct buffer_head *head;
	struct buffer_head *bh;
	struct vm_area_struct *vma;
	unsigned long pte, data, disk;
	int i, lost = 0, ptes_dirty = 0;
	long bufs_dirty = 0, lost_mask = 0;
	int page_dirty;

	lock_page(page);
	mapping = page_mapping(page);
	if (mapping == NULL || !page_has_buffers(page)) {
		unlock_page(page);
		state[0] = state[1] = state[2] = state[3] = 0;
		return 0;
	}
	head = page_buffers(page);
	for (i = 0; i < pc_dirty.nbuffers; i++)
		lock_buffer(&head[i]);
	for (i = 0; i < pc_dirty.nvmas; i++)
		if (pc_dirty.vmas[i].vm_mapping == mapping)
			spin_lock(&pc_dirty.vmas[i].ptl);

	for (i = 0; i < pc_dirty.nvmas; i++) {
		vma = &pc_dirty.vmas[i];
		if (vma->vm_mapping == mapping) {
			pte = vma->ptes[page->index];
			if (pte_maps(pte, page) && pte_dirty(pte))
				ptes_dirty++;
		}
	}
	page_dirty = PageDirty(page);
	for (i = 0; i < pc_dirty.nbuffers; i++)
		if (buffer_dirty(&head[i]))
			bufs_dirty |= 1L << i;
	if (!page_dirty && ptes_dirty == 0 && bufs_dirty == 0) {
		for (i = 0; i < pc_dirty.nbuffers; i++) {
			bh = &head[i];
			data = smp_load_acquire(bh->b_data);
			disk = smp_load_acquire(&pc_dirty.disk[bh->b_blocknr]);
			if (data != disk) {
				lost++;
				lost_mask |= 1L << i;
				if (bh->pc_lost_reported != data) {
					bh->pc_lost_reported = data;
					pc_bug(PC_BUG_LOST_WRITE, page, __func__, (unsigned long)i,
					       (data << 32) | (disk & 0xffffffffUL));
				}
			}
		}
	}

	for (i = 0; i < pc_dirty.nvmas; i++)
		if (pc_dirty.vmas[i].vm_mapping == mapping)
			spin_unlock(&pc_dirty.vmas[i].ptl);
	for (i = 0; i < pc_dirty.nbuffers; i++)
		unlock_buffer(&head[i]);
	unlock_page(page);
	state[0] = page_dirty;
	state[1] = ptes_dirty;
	state[2] = bufs_dirty;
	state[3] = lost_mask;
	return lost;
}

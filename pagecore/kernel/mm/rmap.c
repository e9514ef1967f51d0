// SPDX-License-Identifier: GPL-2.0-only
/*
 * pagecore/kernel/mm/rmap.c: the reverse map of the dirty path
 * (pagecore/dirty.h), after mm/rmap.c of 2.6.19: page_check_address,
 * page_mkclean and the file page's map count.
 */

/*
 * page_check_address(): the PTE that maps @page in @vma, with the page
 * table lock taken; NULL (and no lock) when it does not map it.
 */
unsigned long *page_check_address(struct page *page, struct vm_area_struct *vma)
{
	unsigned long *pte = &vma->ptes[page->index];

	spin_lock(&vma->ptl);
	if (pte_maps(*pte, page))
		return pte;
	spin_unlock(&vma->ptl);
	return NULL;
}

/* ------------------------------------------------------------------ */
/* page_mkclean                                                        */
/* ------------------------------------------------------------------ */

/*
 * A PTE that is dirty or writable is cleaned and write-protected, so the
 * next store through it faults and dirties the page again.
 * ptep_clear_flush() empties the PTE and flushes the TLB: once it returns no
 * CPU can still store through the old entry.  The model gets the same from
 * the page table lock, which a user store (mmap_store) holds.
 */
int page_mkclean_one(struct page *page, struct vm_area_struct *vma)
{
	unsigned long *pte;
	unsigned long entry;
	int ret = 0;

	pte = page_check_address(page, vma);
	if (pte == NULL)
		return 0;
	if (pte_dirty(*pte) || pte_write(*pte)) {
		entry = *pte;
		WRITE_ONCE(*pte, 0);		/* ptep_clear_flush */
		entry &= ~_PAGE_RW;		/* pte_wrprotect */
		entry &= ~_PAGE_DIRTY;		/* pte_mkclean */
		WRITE_ONCE(*pte, entry);	/* set_pte_at */
		ret = 1;
	}
	spin_unlock(&vma->ptl);			/* pte_unmap_unlock */
	return ret;
}

/*
 * vma_prio_tree_foreach() over the file's vmas: the model's i_mmap is the
 * vma table, filtered by mapping.
 */
int page_mkclean_file(struct address_space *mapping, struct page *page)
{
	int ret = 0;
	int i;
	struct vm_area_struct *vma;

	spin_lock(&mapping->i_mmap_lock);
	for (i = 0; i < pc_dirty.nvmas; i++) {
		vma = &pc_dirty.vmas[i];
		if (vma->vm_mapping != mapping)
			continue;
		if (vma->vm_flags & VM_SHARED)
			ret += page_mkclean_one(page, vma);
	}
	spin_unlock(&mapping->i_mmap_lock);
	return ret;
}

/*
 * Returns how many PTEs it cleaned.  The caller holds the page lock
 * (BUG_ON(!PageLocked(page)), checked by the harness before it calls in).
 */
int page_mkclean(struct page *page)
{
	int ret = 0;
	struct address_space *mapping;

	if (page_mapped(page)) {
		mapping = page_mapping(page);
		if (mapping != NULL)
			ret = page_mkclean_file(mapping, page);
	}
	return ret;
}

/* ------------------------------------------------------------------ */
/* The map count of a file page                                        */
/* ------------------------------------------------------------------ */

void page_add_file_rmap(struct page *page)
{
	atomic_inc(&pc_dirty.mapcount[page->pc_id]);
}

void page_remove_rmap(struct page *page)
{
	atomic_dec_and_test(&pc_dirty.mapcount[page->pc_id]);
}

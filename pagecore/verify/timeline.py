"""A failing schedule as a timeline, and its story: what each task did at
each step and the pages' state after it, read from the recorded run of the
explorer (pagecore/verify/explore.py); drawn as a column per CPU, and told
as evidence lines (who cleared and set PG_writeback, whose wake released
whom, which page was freed)."""

from pagecore.registry import sched_ops

_OPS = sched_ops()
_BUG_TEXT = {
    "bug_on": "BUG_ON(PageWriteback) after wait_on_page_writeback",
    "freed_page": "touch of a page freed (and maybe reused) meanwhile",
    "not_under_writeback": "end_page_writeback: BUG() on a page not under writeback",
    "bad_page": "bad_page: freed with PG_locked or PG_writeback set",
    "lost_write": "lost write: a store through the mapping never reached disk",
}


def timeline(r, f):
    """Re-run failure @f recording every step, and return its timeline: one
    row per step (task, what it did, the pages' state after it), and the
    failing checks at the end."""
    c = r.c
    end, n = r.run(f.schedule, record=True)
    steps = c.x_steps()
    positions = c.x_positions()
    log = c.bug_log()
    bits = r.bits
    wb_bit = c.page_bits()["PG_writeback"]
    slot_of = {}
    for name, pid in r.pages.items():
        slot_of.setdefault(pid, name)
    rows, prev_state = [], None
    for i, (t, op, touches, arg, opi, bugs_after, snaps) in enumerate(steps):
        ops = r.setup.tasks[t][1]
        cur_op = ops[opi] if opi < len(ops) else None
        what = _describe(op, touches, arg, bits, r.names, slot_of)
        state = {}
        for pid, (flags, ref, gen, free) in zip(r.snap, snaps):
            if free and gen == 0:
                continue        # never allocated: nothing to show
            state[_page_name(pid, slot_of)] = {
                "flags": [bits[b] for b in sorted(bits) if flags >> b & 1
                          and bits[b] in ("PG_locked", "PG_writeback", "PG_waiters",
                                          "PG_dirty")],
                "refcount": ref, "free": bool(free), "gen": gen,
                "PG_writeback": bool(flags >> wb_bit & 1)}
        rows.append({"step": i + 1, "task": t, "cpu": r.names[t],
                     "op": _op_text(cur_op), "does": what, "state": state,
                     "changed": state != prev_state, "bugs_after": bugs_after,
                     "point": _OPS[op], "object": touches[0] if touches else None,
                     "bit": bits.get(arg) if touches and touches[0] == "flags" else None,
                     "arg": arg, "scenario_op": cur_op[0] if cur_op else None})
        prev_state = state
    _functions(rows)
    checks = []
    first = 0
    for rec in log:
        step = next((row["step"] for row in rows if row["bugs_after"] > first), len(rows))
        first += 1
        checks.append({"kind": rec["kind"], "text": _BUG_TEXT.get(rec["kind"], rec["kind"]),
                       "cpu": rec["comm"], "site": rec["site"], "step": step,
                       "page": _page_name(rec["page"], slot_of) if rec["page"] is not None
                       else None})
    hang = None
    if end in ("hang", "limit"):
        hang = [{"cpu": r.names[p["task"]], "done": p["done"],
                 "at": None if p["done"] else
                 "io_schedule (asleep, not woken)" if _OPS[p["op"]] == "sleep" else
                 "%s (held)" % _describe(p["op"], p["touches"], p["arg"], bits, r.names,
                                         slot_of) if _OPS[p["op"]] == "spin_lock" else
                 _describe(p["op"], p["touches"], p["arg"], bits, r.names, slot_of),
                 "where": p["where"]} for p in positions]
        checks.append({"kind": "hang", "cpu": None, "step": len(rows),
                       "text": ("no task can run and some have not finished" if end == "hang"
                                else "no end after %d steps" % r.max_steps)})
    return {"variant": r.variant, "setup": r.setup.title, "cpus": r.names,
            "preemptions": f.preemptions, "steps": len(rows), "rows": rows,
            "checks": checks, "hang": hang, "end": end, "wb_bit": wb_bit}


# The function a race point sits in (see the model's pc_race() calls).
_RACE_FN = {"ewb_after_clear": "end_page_writeback", "ewb_under_i_pages": "end_page_writeback",
            "wake_breather": "wake_up_page_bit", "wake_before_clear": "wake_up_page_bit",
            "wake_after_clear": "wake_up_page_bit", "wait_queued": "wait_on_page_bit_common",
            "wait_woken": "wait_on_page_bit_common",
            "wait_after_schedule": "wait_on_page_bit_common",
            "cpdfio_mid": "clear_page_dirty_for_io", "writepage_mid": "__block_write_full_page",
            "truncate_before_free": "truncate_inode_page", "fault_mid": "do_wp_page"}
# The function a flag operation is done by, where the model does it in one place.
_FLAG_FN = {("set_bit", "PG_waiters"): "wait_on_page_bit_common",
            ("clear_bit", "PG_waiters"): "wake_up_page_bit",
            ("clear_bit", "PG_writeback"): "wake_up_page_bit",
            ("test_and_set_bit", "PG_writeback"): "__test_set_page_writeback",
            ("test_and_clear_bit", "PG_writeback"): "end_page_writeback",
            ("test_and_set_bit_lock", "PG_locked"): "lock_page",
            ("clear_bit_unlock_is_negative_byte", "PG_locked"): "unlock_page",
            ("test_and_set_bit", "PG_locked"): "wake_page_function",
            ("cmpxchg", None): "end_page_writeback"}
_WAIT_SIDE = ("wait_on_page_bit_common", "finish_wait")


def _functions(rows):
    """Name the kernel function each step runs in, from the step itself and,
    for a lock, from what the same task does under it."""
    by_task = {}
    for row in rows:
        by_task.setdefault(row["task"], []).append(row)
    for mine in by_task.values():
        held = {}
        for k, row in enumerate(mine):
            point, obj, bit = row["point"], row["object"], row["bit"]
            nxt = mine[k + 1] if k + 1 < len(mine) else None
            prev = mine[k - 1] if k else None
            fn = None
            if point == "race":
                from pagecore.model import _core_instr
                fn = _RACE_FN.get(_core_instr.RACE_POINTS[row["arg"]])
            elif point == "sleep":
                fn = "wait_on_page_bit_common"
            elif point == "wake":
                fn = "wake_page_function"
            elif point in ("atomic_inc", "atomic_dec_and_test") and obj == "refcount":
                fn = "get_page" if point == "atomic_inc" else "put_page"
            elif obj == "flags" and held.get("i_pages") in (
                    "__test_set_page_writeback", "test_clear_page_writeback",
                    "__folio_end_writeback"):
                fn = held["i_pages"]
            elif obj == "flags":
                if point == "xor_unlock_is_negative_byte":
                    fn = "folio_unlock" if row["arg"] == 1 else "__folio_end_writeback"
                else:
                    fn = _FLAG_FN.get((point, None if point == "cmpxchg" else bit))
            elif point == "spin_lock" and obj == "bucket":
                if nxt is not None and nxt["point"] == "set_bit" and nxt["bit"] == "PG_waiters":
                    fn = "wait_on_page_bit_common"
                elif prev is not None and prev.get("function") in _WAIT_SIDE:
                    fn = "finish_wait"
                else:
                    fn = "wake_up_page_bit"
                held[obj] = fn
            elif point == "spin_lock" and obj == "i_pages":
                after = {"test_and_set_bit": "__test_set_page_writeback",
                         "test_and_clear_bit": "test_clear_page_writeback",
                         "xor_unlock_is_negative_byte": "__folio_end_writeback"}
                fn = after.get(nxt["point"]) if nxt is not None else None
                if fn is None:
                    fn = {"truncate_inode_page": "delete_from_page_cache"}.get(
                        row["scenario_op"], row["scenario_op"])
                held[obj] = fn
            elif point == "spin_lock" and obj == "zone":
                fn = "__free_page" if prev is not None and prev["does"].startswith(
                    "put_page") else "alloc_page"
                held[obj] = fn
            elif point == "spin_unlock" and obj in held:
                fn = held.pop(obj)
            row["function"] = fn or row["scenario_op"]


def _page_name(pid, slot_of):
    return "page %d%s" % (pid, " (%s)" % slot_of[pid] if pid in slot_of else "")


def _op_text(op):
    if op is None:
        return "returns"
    args = [a for a in op[1:]]
    return "%s(%s)" % (op[0], ", ".join(str(a) for a in args))


_BH_BITS = {0: "BH_Uptodate", 1: "BH_Dirty", 2: "BH_Lock", 3: "BH_Req", 4: "BH_Uptodate_Lock",
            5: "BH_Mapped", 8: "BH_Async_Write"}
_BITOP_NAMES = {
    ("set_bit", "PG_waiters"): "SetPageWaiters",
    ("clear_bit", "PG_waiters"): "ClearPageWaiters",
    ("clear_bit", "PG_writeback"): "clear_bit(PG_writeback)",
    ("test_and_set_bit", "PG_writeback"): "TestSetPageWriteback",
    ("test_and_clear_bit", "PG_writeback"): "TestClearPageWriteback",
    ("test_and_clear_bit", "PG_dirty"): "TestClearPageDirty",
    ("test_and_set_bit", "PG_dirty"): "TestSetPageDirty",
    ("test_and_set_bit_lock", "PG_locked"): "trylock_page",
    ("test_and_set_bit", "PG_locked"): "test_and_set_bit(PG_locked)",
    ("clear_bit_unlock_is_negative_byte", "PG_locked"): "unlock_page",
}


def _describe(op, touches, arg, bits, names, slot_of):
    name = _OPS[op] if 0 <= op < len(_OPS) else str(op)
    kind, idx = touches if touches else (None, None)
    if name == "start":
        return "starts"
    if name == "race":
        from pagecore.model import _core_instr
        return "race point %s" % _core_instr.RACE_POINTS[arg]
    if name == "spin":
        return "cpu_relax (spins)"
    if name == "sleep":
        return "io_schedule: woken, runs again"
    if name == "wake":
        return "try_to_wake_up(%s)" % (names[idx] if kind == "task" else "?")
    if name in ("spin_lock", "spin_unlock"):
        if kind == "i_pages":
            return "%s(&mapping->i_pages)%s" % (
                "xa_lock" if name == "spin_lock" else "xa_unlock",
                " [mapping %s]" % idx if idx else "")
        lock = {"bucket": "&q->lock", "zone": "&zone->lock", "ptl": "ptl",
                "private_lock": "&mapping->private_lock",
                "i_mmap_lock": "&mapping->i_mmap_lock"}.get(kind, "a spinlock")
        return "%s(%s)" % (name, lock)
    if kind == "buffer":
        bit = _BH_BITS.get(arg, "bit %d" % arg)
        return "%s(%s) on buffer %d" % (name, bit, idx)
    if kind == "mapcount":
        return {"atomic_inc": "page_add_file_rmap",
                "atomic_dec_and_test": "page_remove_rmap"}.get(name, name)
    page = _page_name(idx, slot_of) if kind in ("flags", "refcount") else "?"
    if kind == "refcount":
        return {"atomic_inc": "get_page", "atomic_dec_and_test": "put_page"}.get(
            name, name) + " " + page
    if name == "page_init":
        return "alloc_page: %s made new (flags, refcount, mapping)" % page
    if kind == "flags":
        if name == "xor_unlock_is_negative_byte":
            bit = bits.get((arg & -arg).bit_length() - 1, arg)
            return "folio_xor_flags_has_waiters(%s) %s" % (bit, page)
        if name == "cmpxchg":
            return "cmpxchg(page->flags) %s" % page
        bit = bits.get(arg, "bit %d" % arg)
        return "%s %s" % (_BITOP_NAMES.get((name, bit), "%s(%s)" % (name, bit)), page)
    return "%s(%s)" % (name, kind or "?")


def _flags_text(st):
    return "%s ref=%d%s" % ("|".join(f[3:] for f in st["flags"]) or "-", st["refcount"],
                            " free" if st["free"] else "")


def cpu_order(cpus):
    """The columns' order: cpu0, cpu1, ... by number (a setup lists its tasks
    in the order they are made, the bystander cpu0 sometimes last)."""
    import re

    def key(i):
        m = re.match(r"(\D*)(\d+)(.*)$", cpus[i])
        return (m.group(1), int(m.group(2)), m.group(3)) if m else (cpus[i], -1, "")
    return sorted(range(len(cpus)), key=key)


def render_timeline(tl, columns=None):
    """The timeline as text, @columns wide (default: the terminal's, $COLUMNS):
    a column per CPU, cpu0 first, a row per step, the pages' state after it
    on the right; a failing check comes right under the step where it fired,
    marked `!!`."""
    import shutil

    cpus = tl["cpus"]
    order = cpu_order(cpus)
    col_of = {t: k for k, t in enumerate(order)}
    total = columns or shutil.get_terminal_size((120, 24)).columns
    states = ["; ".join("%s %s" % (k, _flags_text(v)) for k, v in row["state"].items())
              for row in tl["rows"] if row["changed"]]
    state_w = min(max([len(x) for x in states] + [16]), max(16, total // 4))
    width = max(12, (total - 5 - state_w) // max(1, len(cpus)))
    head = "step " + "".join(cpus[t][:width - 1].ljust(width) for t in order) + \
        "state after the step"
    lines = [head[:max(total, 5 + width * len(cpus))].rstrip(), "-" * min(len(head), total)]
    checks = {}
    for chk in tl["checks"]:
        checks.setdefault(chk["step"], []).append(chk)
    last_op = {}
    for row in tl["rows"]:
        cells = [""] * len(cpus)
        text = _step_text(row)
        if last_op.get(row["task"]) != row["op"]:
            last_op[row["task"]] = row["op"]
            text = "%s: %s" % (row["op"], text)
        cells[col_of[row["task"]]] = text
        state = "; ".join("%s %s" % (k, _flags_text(v)) for k, v in row["state"].items()) \
            if row["changed"] else ""
        mine = checks.pop(row["step"], [])
        step = "%s%s" % ("!!" if mine else "", row["step"])
        lines.extend(_wrap_row(step, cells, width, state, state_w))
        for chk in mine:
            lines.extend(_check_lines(chk, cpus, col_of, width, state_w))
    for step in sorted(checks):     # past the last row: a hang, or a check at the end
        for chk in checks[step]:
            lines.extend(_check_lines(chk, cpus, col_of, width, state_w))
    if tl.get("hang"):
        for h in tl["hang"]:
            lines.append("     %s: %s" % (h["cpu"], "finished" if h["done"] else
                                          "blocked at %s%s" % (h["at"], " in %s" % h["where"]
                                                               if h["where"] else "")))
    return lines


def _check_lines(chk, cpus, col_of, width, state_w):
    """A failing check, under its step, in the column of the CPU that hit it."""
    text = "%s%s" % (chk["text"], " (%s)" % chk["site"] if chk.get("site") else "")
    if chk.get("cpu") not in cpus:
        return ["  !! %s (step %d)" % (text, chk["step"])]
    cells = [""] * len(cpus)
    cells[col_of[cpus.index(chk["cpu"])]] = text
    return _wrap_row("!!", cells, width, "^ fails in step %d" % chk["step"], state_w)


def _step_text(row):
    fn = row.get("function")
    does = row["does"]
    if fn and not does.startswith(fn) and row.get("point") != "start":
        return "%s: %s" % (fn, does)
    return does


def _wrap_row(step, cells, width, state, state_w=None):
    import textwrap

    # a name longer than its column is broken at the column's edge: a narrow terminal
    # keeps its columns aligned
    cols = [textwrap.wrap(c, width - 1, break_on_hyphens=False) or [""] for c in cells]
    st = textwrap.wrap(state, state_w, break_on_hyphens=False) if state_w and state else \
        [state]
    nl = max([len(c) for c in cols] + [len(st)])
    out = []
    for k in range(nl):
        line = (str(step).rjust(4) + " " if k == 0 else "     ")
        line += "".join((c[k] if k < len(c) else "").ljust(width) for c in cols)
        line += st[k] if k < len(st) else ""
        out.append(line.rstrip())
    return out


# -- what happened, from the run -------------------------------------------------

def narrate(tl, only=None):
    """Evidence lines derived from the recorded run: who cleared and set
    PG_writeback when, who woke whom, which page was freed and reused.
    With @only, the story of that kind of failure only."""
    out = []
    rows = tl["rows"]
    checks = [c for c in tl["checks"] if c["kind"] != "hang"]
    if only is not None:
        checks = [c for c in checks if c["kind"] == only][:1]
    for chk in checks:
        out.append("failing check at step %d on %s: %s%s" % (
            chk["step"], chk["cpu"], chk["text"],
            " (%s, %s)" % (chk["site"], chk["page"]) if chk.get("site") else ""))
    # PG_writeback and page lifetime history, per page
    prev = None
    history = []
    for row in rows:
        for page, st in row["state"].items():
            before = prev.get(page) if prev else None
            if before is None:
                continue
            freed = st["free"] and not before["free"]
            if st["PG_writeback"] != before["PG_writeback"] and not freed:
                history.append((row["step"], row["cpu"], page,
                                "set PG_writeback" if st["PG_writeback"]
                                else "cleared PG_writeback", row["does"]))
            if freed:
                history.append((row["step"], row["cpu"], page, "freed the page%s" % (
                    " while PG_writeback was set" if before["PG_writeback"] else ""),
                    row["does"]))
            if st["gen"] != before["gen"]:
                history.append((row["step"], row["cpu"], page,
                                "allocated the page again (generation %d)" % st["gen"],
                                row["does"]))
        prev = row["state"]
    for step, cpu, page, what, does in history:
        out.append("step %d: %s %s (%s) on %s" % (step, cpu, what, does, page))
    for chk in checks:
        if chk["kind"] == "bug_on":
            out.extend(_why_bug_on(tl, chk, history))
        elif chk["kind"] in ("bad_page", "not_under_writeback", "freed_page"):
            out.extend(_why_freed(tl, chk, history))
    if tl.get("hang") and only in (None, "hang"):
        out.append("hang: " + "; ".join(
            "%s %s" % (h["cpu"], "finished" if h["done"] else "blocked at %s%s"
                       % (h["at"], " in %s" % h["where"] if h["where"] else ""))
            for h in tl["hang"]))
    return out


def _why_bug_on(tl, chk, history):
    # The waiter that hit BUG_ON: when was it woken, by whom, and was the
    # PG_writeback it then saw a new writeback or the old one never cleared?
    rows = tl["rows"]
    victim = chk["cpu"]
    wakes = [row for row in rows if row["step"] <= chk["step"]
             and row["does"] == "try_to_wake_up(%s)" % victim]
    if not wakes:
        return ["%s found PG_writeback set after wait_on_page_writeback without being "
                "woken" % victim]
    w = wakes[-1]
    page = chk.get("page")
    sets = [h for h in history if h[3] == "set PG_writeback" and h[2] == page and h[0] <= w["step"]]
    clears = [h for h in history if h[3] == "cleared PG_writeback" and h[2] == page
              and h[0] <= w["step"]]
    if not clears:
        return ["%s woke %s at step %d while the writeback %s waited for had not been "
                "cleared yet: the wake came before the clear, and no second writer set "
                "PG_writeback" % (w["cpu"], victim, w["step"], victim)]
    last_clear = clears[-1]
    later_sets = [h for h in sets if h[0] > last_clear[0]]
    if later_sets:
        s = later_sets[-1]
        return ["%s cleared PG_writeback at step %d, %s set it again at step %d, and %s's "
                "stale wake at step %d released %s, which returned with the new writeback "
                "in flight (the set-again race)" % (last_clear[1], last_clear[0], s[1], s[0],
                                                   w["cpu"], w["step"], victim)]
    return ["%s woke %s at step %d; PG_writeback was set again after step %d"
            % (w["cpu"], victim, w["step"], last_clear[0])]


def _why_freed(tl, chk, history):
    # A page freed too early: by truncation released from its `if` wait with
    # a new writeback in flight, or freed under a stale end_page_writeback.
    rows = tl["rows"]
    frees = [h for h in history if h[3].startswith("freed the page") and h[0] <= chk["step"]]
    if not frees:
        return []
    fr = frees[0]
    out = []
    trunc = sorted({row["cpu"] for row in rows if row["op"].startswith("truncate_inode_page")})
    clears = [h for h in history if h[3] == "cleared PG_writeback" and h[0] < fr[0]]
    sets = [h for h in history if h[3] == "set PG_writeback" and h[0] < fr[0]
            and (not clears or h[0] > clears[0][0])]
    if "while PG_writeback was set" in fr[3] and trunc:
        t = trunc[0]
        wakes = [row for row in rows if row["step"] < fr[0]
                 and row["does"] == "try_to_wake_up(%s)" % t]
        woke = (" %s's stale wake at step %d released %s (truncate_inode_page) from "
                "wait_on_page_writeback, which waits with an `if`, so" % (
                    wakes[-1]["cpu"], wakes[-1]["step"], t) if wakes else "")
        out.append("%s cleared PG_writeback at step %d and %s set it again at step %d;%s "
                   "%s removed the page from the page cache and the page was freed at step %d "
                   "(%s's put_page) with the new writeback in flight: the set-again race "
                   "reached through truncation, not a reuse of a freed page"
                   % (clears[0][1] if clears else "?", clears[0][0] if clears else 0,
                      sets[-1][1] if sets else "?", sets[-1][0] if sets else 0, woke, t, fr[0],
                      fr[1]))
    else:
        allocs = [h for h in history if h[3].startswith("allocated the page again")
                  and h[0] > fr[0] and h[0] <= chk["step"]]
        out.append("%s freed %s at step %d%s; %s then touched it (%s) at step %d"
                   % (fr[1], fr[2], fr[0],
                      ", %s allocated it again at step %d" % (allocs[0][1], allocs[0][0])
                      if allocs else "", chk["cpu"], chk.get("site"), chk["step"]))
    return out

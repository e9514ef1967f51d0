"""The search without a bound (source-DPOR, pagecore/verify/dpor.py): it runs
one schedule of every class of equivalent schedules, and finds what the
bounded search and brute force find."""

import struct

import pytest

from pagecore.verify.dpor import DporJob, dpor_job, dpor_setup, preemptions
from pagecore.verify.explore import MAX_STEPS, Runner, explore_setup
from pagecore.verify.scenarios import SCENARIOS, Setup

READ, WRITE, ADD = 0, 1, 2

# Two to three tasks on one page: small enough to run every schedule.
EWB_VS_WAIT = Setup(
    "end_page_writeback against a waiter",
    (("waker", (("end_page_writeback", "P"),)),
     ("waiter", (("wait_on_page_writeback", "P"),))),
    (("page", "P", 0, 0), ("start_writeback", "P")))
EWB_VS_TRUNCATE = Setup(
    "end_page_writeback against a truncation that waits",
    (("waker", (("end_page_writeback", "P"),)),
     ("truncate", (("lock_page", "P"), ("wait_on_page_writeback", "P"),
                   ("truncate_inode_page", "P"), ("unlock_page", "P")))),
    (("page", "P", 0, 0), ("start_writeback", "P"), ("get_page", "P")))


def run(r, schedule):
    r._reset()
    r.c.x_set_sleep({})
    return r.c.x_run(bytes(schedule), 0, MAX_STEPS, False, True)


def footprint(r, k):
    b = r.c.x_footprint(k)
    if b == b"*":
        return None
    size = struct.calcsize("QQB0Q")
    return [struct.unpack_from("QQB", b, i) for i in range(0, len(b), size)]


def dependent(a, b):
    if a is None or b is None:
        return True
    for lo1, hi1, k1 in a:
        for lo2, hi2, k2 in b:
            if (k1, k2) in ((READ, READ), (ADD, ADD)):
                continue
            if lo1 < hi2 and lo2 < hi1:
                return True
    return False


def trace_class(r, n):
    """The Mazurkiewicz trace of the last run: each step as (task, its
    count), and the order of every dependent pair of two tasks' steps."""
    ch = r.c.x_masks()[0]
    fps = [footprint(r, k) for k in range(n)]
    seen, ids = {}, []
    for k in range(n):
        seen[ch[k]] = seen.get(ch[k], 0) + 1
        ids.append((ch[k], seen[ch[k]]))
    pairs = frozenset((ids[i], ids[j]) for j in range(n) for i in range(j)
                      if ch[i] != ch[j] and dependent(fps[i], fps[j]))
    return pairs, tuple(sorted(seen.items()))


def brute_force(r):
    """Every schedule, no reduction: the classes and the failures of each."""
    classes = {}
    stack = [b""]
    while stack:
        prefix = stack.pop()
        end, n = run(r, prefix)
        ch, en, _ = r.c.x_masks()
        classes.setdefault(trace_class(r, n), set()).add(tuple(r.failures(end)))
        for k in range(len(prefix), n):
            for u in range(8):
                if en[k] >> u & 1 and u != ch[k]:
                    stack.append(bytes(ch[:k]) + bytes((u,)))
    return classes


@pytest.mark.parametrize("variant,setup", [
    ("original", EWB_VS_WAIT), ("shipped-5.10", EWB_VS_WAIT), ("folio-6.7", EWB_VS_WAIT),
    ("original", EWB_VS_TRUNCATE),
])
def test_dpor_runs_one_schedule_of_every_class(variant, setup):
    r = Runner(variant, setup)
    classes = brute_force(r)
    # the footprints are complete enough that equivalent schedules end alike
    assert all(len(outcomes) == 1 for outcomes in classes.values())
    seen = set()
    import pagecore.verify.dpor as dpor

    real = dpor._run

    def spy(runner, schedule, sleep, max_steps):
        end, n = real(runner, schedule, sleep, max_steps)
        if end != "sleep_blocked" and max_steps == MAX_STEPS:
            seen.add(trace_class(runner, n))
        return end, n

    dpor._run = spy
    try:
        st = dpor_setup(r)
    finally:
        dpor._run = real
    # every class, and (sleep sets) none twice
    assert seen == set(classes)
    assert st["classes"] == len(classes)
    kinds = {k for outcomes in classes.values() for o in outcomes for k in o}
    assert set(st["failures"]) == kinds


def test_a_schedule_takes_the_same_steps_whatever_ran_before():
    # the search keeps footprints from earlier runs: a run must not depend
    # on the runs before it (the model's memory, the wait table's hashing)
    r = Runner("shipped-5.10", SCENARIOS["page-reuse"].setups[0])

    def steps(schedule):
        end, n = run(r, schedule)
        return end, bytes(r.c.x_masks()[0][:n]), [r.c.x_footprint(k) for k in range(n)]

    first = steps(b"")
    for prefix in (b"\x01\x01\x00", b"\x02" * 9, b"\x00\x01" * 7):
        run(r, prefix)
    assert steps(b"") == first
    Runner("original", EWB_VS_WAIT).run(b"")
    assert steps(b"") == first


@pytest.mark.parametrize("variant,scenario,kind", [
    ("original", "writeback-set-again", "bug_on"),
    ("cpdfio-2.6.19", "mmap-lost-write", "lost_write"),
])
def test_dpor_finds_what_the_bounded_search_finds(variant, scenario, kind):
    found, bounded = set(), set()
    for setup in SCENARIOS[scenario].setups:
        r, _, best = explore_setup(variant, setup, 1)
        bounded |= set(best)
        st = dpor_setup(r, max_schedules=60000)
        found |= set(st["failures"])
        for f in st["failures"].values():
            # a failure's schedule replays to the same failure
            end, n = r.run(f.schedule)
            assert set(f.kinds) <= set(r.failures(end))
            assert f.preemptions == preemptions(*r.c.x_masks()[:2], n)
    assert kind in bounded
    assert bounded <= found


def test_a_fix_is_verified_for_every_schedule():
    st = {"classes": 0, "complete": True, "failures": {}}
    for setup in SCENARIOS["mmap-lost-write"].setups:
        r = Runner("cpdfio-set-page-dirty", setup)
        s = dpor_setup(r)
        st["classes"] += s["classes"]
        st["complete"] &= s["complete"]
        st["failures"].update(s["failures"])
    assert st["complete"] and st["failures"] == {}
    assert st["classes"] > 1000


def test_a_split_search_finds_the_same_and_counts_the_same_twice():
    setup = SCENARIOS["mmap-lost-write"].setups[0]
    r = Runner("cpdfio-2.6.19", setup)
    whole = dpor_setup(r)
    split = dpor_setup(r, jobs_limit=500)
    again = dpor_setup(r, jobs_limit=500)
    assert split["jobs"] > 1
    assert set(split["failures"]) == set(whole["failures"]) == {"lost_write"}
    # the shortest schedule is the least of all it ran: the same however split
    key = {k: (f.key(), f.schedule) for k, f in whole["failures"].items()}
    assert {k: (f.key(), f.schedule) for k, f in split["failures"].items()} == key
    # the nodes above a split run every choice: more runs, never fewer classes
    assert split["classes"] >= whole["classes"]
    assert {k: again[k] for k in ("schedules", "classes", "pruned")} == \
        {k: split[k] for k in ("schedules", "classes", "pruned")}


def test_a_job_hands_back_what_it_did_not_run():
    r = Runner("shipped-5.10", SCENARIOS["page-reuse"].setups[1])
    st = dpor_job(r, DporJob(), 50)
    assert st["schedules"] == 50 and st["frontier"]
    for job in st["frontier"]:
        assert job.fixed == len(job.prefix) and not job.sleep0 >> job.prefix[-1] & 1

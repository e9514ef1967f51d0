"""What the event-count tests share: every event named, and an Expect: line
compared with counts that include the machine's folds."""

from pagecore import registry


def only(**kw):
    """Every event of registry.def at 0, but those given."""
    ev = dict.fromkeys(registry.events(), 0)
    ev.update(kw)
    return ev


def as_stated(ev, expected):
    """@ev against an Expect: line (@expected, a dict).  A fold (a per-CPU
    batch handed to its shared total) comes every batch of a counter's
    count, and batches scale with the machine's CPUs, so no file states how
    many; some folds write the per-CPU line once more, so `percpu` may exceed
    the stated count by at most the folds counted."""
    ev = dict(ev)
    folds = ev.pop("fold")
    extra = ev["percpu"] - expected.get("percpu", 0)
    assert -1e-9 <= extra <= folds + 1e-9, (ev["percpu"], expected, folds)
    ev["percpu"] = expected.get("percpu", 0)
    want = only(**expected)
    want.pop("fold")
    assert ev == want, (ev, want)
    return True

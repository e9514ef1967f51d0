"""Verdicts kept by what they judged, so that a run verifies only what it has
no verdict for.

A verify row is a verdict on one variant's code in one scenario and mode.
It is kept in $PAGECORE_VERDICTS, by default verdicts/ of $PAGECORE_CACHE
(~/.cache/pagecore, where the variants' objects are kept too),
keyed by key(): a digest of the variant's C (Variant.source_key(): its
composed source and the model's headers), of the instrumented harness that
runs it and of the verifier's own code.  Edit any of them and the verdict is
not found again: the cell runs anew.

A kept row answers a later plan that asks no more of it: a failure found
stays found whatever the plan; a clean verdict is reused only where its plan
reached at least as far (as many preemptions and schedules for explore, as
many seconds of stress with the same windows, the same starvation
parameters for at least as long, the same replay step).  An inconclusive row
is never kept: it is no verdict.
"""

import hashlib
import json
import os

FORMAT = 1

# The verifier's own code: a change there is a change of every verdict.
_VERIFIER = ("replay.py", "stress.py", "explore.py", "interleaving.py", "scenarios.py",
             "starvation.py", "matrix.py")
_verifier_digest = None
_keys = {}


def root():
    """$PAGECORE_VERDICTS, else verdicts/ in $PAGECORE_CACHE (default ~/.cache/pagecore)."""
    if os.environ.get("PAGECORE_VERDICTS"):
        return os.environ["PAGECORE_VERDICTS"]
    base = os.environ.get("PAGECORE_CACHE") or os.path.join(os.path.expanduser("~"), ".cache",
                                                            "pagecore")
    return os.path.join(base, "verdicts")


def _verifier():
    global _verifier_digest
    if _verifier_digest is None:
        from pagecore.model import _core_instr

        h = hashlib.sha256()
        here = os.path.dirname(os.path.abspath(__file__))
        for path in [os.path.join(here, f) for f in _VERIFIER] + [_core_instr.__file__]:
            with open(path, "rb") as f:
                h.update(os.path.basename(path).encode() + b"\0" + f.read() + b"\0")
        _verifier_digest = h.hexdigest()
    return _verifier_digest


def key(variant):
    """The key of @variant's verdicts: its source, the harness and the verifier."""
    if variant not in _keys:
        from pagecore.model.variants import get_variant

        h = hashlib.sha256(get_variant(variant).source_key().encode())
        h.update(_verifier().encode())
        _keys[variant] = h.hexdigest()[:24]
    return _keys[variant]


def plan(opts, scenario, row=None):
    """What a verify row of @scenario under VerifyOptions @opts was asked to
    do: the parameters its verdict depends on.  With the @row it made: an
    explore row a budget stopped before its bound was run whole answers as
    far as the schedules it ran, as a --max-schedules run would."""
    p = _plan(opts, scenario)
    if (row is not None and p["kind"] == "explore" and p["preemptions"] is not None
            and not row.get("complete", True)):
        n = (row.get("counts") or {}).get("schedules", 0)
        p["max_schedules"] = n if p["max_schedules"] is None else min(n, p["max_schedules"])
    return p


def _plan(opts, scenario):
    from pagecore.verify.matrix import LIVENESS_SCENARIOS, starvation_params

    if scenario in LIVENESS_SCENARIOS:
        return {"kind": "starvation", **starvation_params(opts)}
    if opts.mode == "explore":
        from pagecore.verify.explore import PREEMPTIONS

        budget = getattr(opts, "budget", None)
        if budget is not None and opts.preemptions is None:
            # no bound: how far it got depends on the budget, and only a
            # budget as long answers another
            return {"kind": "explore", "preemptions": None, "budget": float(budget),
                    "search": getattr(opts, "search", None) or "dpor",
                    "max_schedules": opts.max_schedules, "por": not opts.no_por}
        return {"kind": "explore", "preemptions": PREEMPTIONS if opts.preemptions is None
                else opts.preemptions, "max_schedules": opts.max_schedules,
                "por": not opts.no_por}
    if opts.mode == "stress":
        return {"kind": "stress", "seconds": opts.seconds, "threads": opts.threads,
                "widen_ns": opts.widen_ns, "widen_prob": opts.widen_prob, "seed": opts.seed}
    return {"kind": "replay", "step": opts.step}


def covers(have, want):
    """Whether a clean verdict made under plan @have answers plan @want."""
    if have.get("kind") != want.get("kind"):
        return False
    if want["kind"] == "explore":
        if (have.get("preemptions") is None) != (want.get("preemptions") is None):
            return False        # a budget's verdict and a bound's answer different questions
        if want.get("preemptions") is None:
            reach = have.get("budget", 0) >= want.get("budget", 0) and (
                have["max_schedules"] is None or (want["max_schedules"] is not None
                                                  and have["max_schedules"]
                                                  >= want["max_schedules"]))
            return (reach and have["por"] <= want["por"]
                    and have.get("search") == want.get("search"))
        reach = (have["preemptions"] >= want["preemptions"]
                 and (have["max_schedules"] is None
                      or (want["max_schedules"] is not None
                          and have["max_schedules"] >= want["max_schedules"])))
        return reach and have["por"] <= want["por"]     # without POR reaches as far
    if want["kind"] == "stress":
        same = all(have[k] == want[k] for k in ("threads", "widen_ns", "widen_prob"))
        seed = want["seed"] is None or have["seed"] == want["seed"]
        return same and seed and have["seconds"] >= want["seconds"]
    if want["kind"] == "starvation":
        same = all(have[k] == want[k] for k in want if k not in ("kind", "seconds"))
        return same and have["seconds"] >= want["seconds"]
    return have == want


def _path(variant, scenario, mode):
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in variant)
    return os.path.join(root(), safe, key(variant), "%s.%s.json" % (mode, scenario))


def _read(path):
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except (OSError, ValueError):
        return []       # no verdict yet, or a file a crash cut short: run the cell
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        return []
    return [e for e in doc.get("entries", []) if isinstance(e, dict)
            and isinstance(e.get("row"), dict) and isinstance(e.get("plan"), dict)]


def lookup(variant, scenario, mode, want):
    """A kept row that answers plan @want, marked "cached"; None when there is none."""
    for e in _read(_path(variant, scenario, mode)):
        if e["row"].get("failures") or covers(e["plan"], want):
            return dict(e["row"], cached=True)
    return None


def best(variant, scenario, mode):
    """The kept row of the furthest reach, whatever its plan (a failure first)."""
    entries = _read(_path(variant, scenario, mode))
    if not entries:
        return None
    e = max(entries, key=lambda e: (bool(e["row"].get("failures")), _reach(e["plan"])))
    return dict(e["row"], cached=True)


def _reach(p):
    return (p.get("preemptions") or 0, p.get("max_schedules") is None,
            p.get("max_schedules") or 0, p.get("seconds") or 0)


def store(row, want):
    """Keep @row, made under plan @want, unless it is no verdict.  A row this
    one answers for is dropped; the file is replaced whole, never half written."""
    if row.get("inconclusive") and not row.get("failures"):
        return
    row = {k: v for k, v in row.items() if k != "cached"}
    path = _path(row["variant"], row["scenario"], row["mode"])
    kept = [e for e in _read(path)
            if not (not e["row"].get("failures") and covers(want, e["plan"]))]
    kept.append({"plan": want, "row": row})
    tmp = "%s.%d.tmp" % (path, os.getpid())
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump({"format": FORMAT, "entries": kept}, f)
        os.replace(tmp, path)
    except OSError:
        pass    # a cache that cannot be written costs a rerun, not the run
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)

"""Result files: what `pagecore bench` and `pagecore verify --json` write, loaded and checked.

results/<machine>/<suite>.json are pyperf suites (values in seconds per operation, benchmark
names suite/case/variant[/k=v...]); results/<machine>/verify.json holds the verdicts.
"""

import math
import os
import stat
import statistics
from dataclasses import dataclass, field

from pagecore._errors import PagecoreError
from pagecore.report.stats import mean_ci, ratio_mean_ci

SUITES = ("floor", "hotpath", "contention", "hashchain", "dirty")


# floor compares pagecore's primitives with a plain C program; the dirty path has its own
# pre-fix kernel.  The --baseline option picks the baseline of its own kind only.
FLOOR_BASELINE = "plain-c"


DEFAULT_BASELINE = {"writeback": "original", "dirty": "cpdfio-2.6.19"}


def baselines(rs, given=None):
    """{kind: baseline} and the notes that say where a default was not measured.

    @given (a variant name, or {kind: name}) is the baseline of its kind; a kind it does not
    name takes its pre-fix kernel (DEFAULT_BASELINE) when that was measured, else the first
    variant of that kind measured, and a note says so."""
    given = given if isinstance(given, dict) else (
        {_variant_kind(given): given} if given else {})
    measured = rs.variants()
    out, notes = {}, []
    for kind, default in DEFAULT_BASELINE.items():
        mine = [v for v in measured if _variant_kind(v) == kind]
        if given.get(kind):
            out[kind] = given[kind]
        elif default in mine or not mine:
            out[kind] = default
        else:
            out[kind] = mine[0]
            notes.append(f"`{default}` was not measured: {kind} changes are against "
                         f"`{mine[0]}`, the first {kind} variant measured (`--baseline` picks "
                         "another).")
    return out, notes


@dataclass
class Result:
    machine: str
    name: str
    suite: str
    case: str
    variant: str
    params: tuple          # ((key, value), ...) in name order
    samples: tuple         # seconds per operation, one per run
    events: dict = None    # per-operation event counts, None when not recorded
    by_worker: dict = None  # worker process -> its mean, where the suite recorded workers
    impl: str = None       # the implementation run (pagecore_impl): equal means same source
    cpus: tuple = ()       # the CPU of each value, where recorded (-1: it moved)
    # the harness's own error of a paired ratio in this suite and run (1 sigma), measured on
    # variants that run identical source (calibrate())
    harness_err: float = 0.0
    # what `pyperf check` says of it: ((kind, text), ...), empty when nothing
    unstable: tuple = ()

    def __post_init__(self):
        s = self.samples
        self.n = len(s)
        self.mean, self.ci = mean_ci(s)
        self.sd = statistics.stdev(s) if self.n > 1 else 0.0
        # one sample has no spread to judge by: its error is unknown, not zero
        self.se = self.sd / math.sqrt(self.n) if self.n > 1 else math.inf

    @property
    def wakes_sleeper(self):
        """Its events count a sleep: each operation wakes a thread asleep on another CPU, and
        its values are the host's scheduling of that CPU as much as the code (a few us a wake
        on a busy host, whole values of 2.8 ms or 1.9 ms a wake on an idle one)."""
        return bool((self.events or {}).get("sleeps"))

    @property
    def rsd(self):
        return self.sd / self.mean if self.mean else 0.0

    @property
    def term(self):
        """The benchmark without its variant: what a weight and a comparison row name."""
        return _term(self.suite, self.case, self.params)

    @property
    def key(self):
        return "/".join([self.suite, self.case] + ["{}={}".format(*kv) for kv in self.params])

    def param(self, name):
        return _num(dict(self.params).get(name))


def _term(suite, case, params):
    return (suite, case, frozenset(params))


def _num(v):
    try:
        return int(v)
    except (TypeError, ValueError):
        try:
            return float(v)
        except (TypeError, ValueError):
            return v


@dataclass
class Machine:
    name: str
    results: dict = field(default_factory=dict)   # benchmark name -> Result
    verify: list = field(default_factory=list)    # rows of verify.json
    dropped: int = 0   # values left out as taken while the sentinel said the CPU was slowed
    meta: dict = field(default_factory=dict)
    files: list = field(default_factory=list)
    # suite -> the median sentinel (ns per locked RMW of the loop timed beside every value) of
    # the values kept: the machine's speed while that suite ran, a reference two runs share
    sentinel: dict = field(default_factory=dict)

    def suites(self):
        return sorted({r.suite for r in self.results.values()}, key=_suite_order)


class ResultSet:
    def __init__(self):
        self.machines = {}
        self.notes = []

    def machine(self, name):
        if name not in self.machines:
            self.machines[name] = Machine(name)
        return self.machines[name]

    def results(self, suite=None):
        for m in self.machines.values():
            for r in m.results.values():
                if suite is None or r.suite == suite:
                    yield r

    def suites(self):
        return sorted({r.suite for r in self.results()}, key=_suite_order)

    def variants(self):
        return _order_variants({r.variant for r in self.results()})

    def verify_rows(self):
        for m in self.machines.values():
            for row in m.verify:
                yield m.name, row

    @property
    def has_verify(self):
        return any(m.verify for m in self.machines.values())


def _suite_order(s):
    return (SUITES.index(s) if s in SUITES else len(SUITES), s)


def _order_variants(names):
    from pagecore.model.variants import VARIANTS

    known = list(VARIANTS)
    return sorted(names, key=lambda v: (known.index(v) if v in known else len(known), v))


def _variant_kind(v):
    from pagecore.model.variants import VARIANTS

    return VARIANTS[v].kind if v in VARIANTS else None


def parse_name(name):
    """'suite/case/variant[/k=v...]' -> (suite, case, variant, params), or None."""
    parts = name.split("/")
    if len(parts) < 3 or any(not p for p in parts) or any("=" in p for p in parts[:3]):
        return None
    params = []
    for p in parts[3:]:
        k, sep, v = p.partition("=")
        if not sep or not k or not v:
            return None
        params.append((k, v))
    return parts[0], parts[1], parts[2], tuple(params)


def parse_events(text):
    if not text:
        return None
    ev = {}
    for item in str(text).split():
        k, sep, v = item.partition("=")
        try:
            ev[k] = float(v)
        except ValueError:
            return None
        if not sep:
            return None
    return ev


def load_results(paths=None):
    """Read result paths (results roots, machine directories, or single .json files)."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    if not paths and not os.path.exists("results"):
        raise PagecoreError("results: no such directory (run `tox -e bench` first, or name "
                            "the results to report on)")
    paths = [os.fspath(p) for p in (paths or ["results"])]
    rs = ResultSet()
    seen = set()
    for p in paths:
        for machine, f in _discover(p):
            real = os.path.realpath(f)
            if real not in seen:
                seen.add(real)
                _load_file(rs, machine, f)
    if not any(m.results or m.verify for m in rs.machines.values()):
        raise PagecoreError("no pagecore results in {}".format(", ".join(paths)))
    calibrate(rs)
    return rs


# identical-source pairs a case needs for an error of its own (fewer: its suite's)
CALIBRATE_MIN_PAIRS = 3


def calibrate(rs):
    """Set each result's harness_err: the root mean square of the paired changes between
    variants that ran identical source, in its case (suite, case and parameters) where the
    case has CALIBRATE_MIN_PAIRS such pairs; else the median of its suite's cases' errors,
    else of its machine's.  Identical code should measure a ratio of exactly 1; what it
    measures instead is the error this harness adds to every pair of that run, which the
    spread between processes does not show (a CPU slowed for the whole of a few processes
    slows both halves of their pairs, but not always by the same amount).  Intervals of paired
    changes add it.  The error is the case's own because it differs between cases by far more
    than between pairs of one case: a futex wake of a thread asleep on another CPU pairs
    within 10% on a busy machine and can spread by 300% on an idle one (the host wakes the
    idle CPU late), a 64-page loop of atomics within 1%; an error pooled over both would hide
    an RMW in the second.  For the same reason a case without pairs of its own takes the
    median of the others, not a pool that one such case decides."""
    for m in rs.machines.values():
        groups = {}
        for r in m.results.values():
            if r.impl is not None and r.by_worker:
                groups.setdefault((r.suite, r.case, r.params, r.impl), []).append(r)
        by_case = {}
        for (suite, case, params, _), members in groups.items():
            first = members[0]
            for r in members[1:]:
                ws = set(first.by_worker) & set(r.by_worker)
                if len(ws) >= 2:
                    ratio = ratio_mean_ci([r.by_worker[w] / first.by_worker[w]
                                           for w in ws])[0]
                    by_case.setdefault((suite, case, params), []).append((ratio - 1) ** 2)
        err = {k: math.sqrt(statistics.fmean(xs)) for k, xs in by_case.items()}
        by_suite = {}
        for (suite, _, _), e in err.items():
            by_suite.setdefault(suite, []).append(e)
        machine = statistics.median(err.values()) if err else 0.0
        for r in m.results.values():
            key = (r.suite, r.case, r.params)
            if len(by_case.get(key, ())) >= CALIBRATE_MIN_PAIRS:
                r.harness_err = err[key]
            elif by_suite.get(r.suite):
                r.harness_err = statistics.median(by_suite[r.suite])
            else:
                r.harness_err = machine


def _json_files(d):
    try:
        names = sorted(os.listdir(d))
    except OSError as e:
        raise PagecoreError(f"{d}: cannot read directory: {e.strerror}") from None
    # try.json: a trial's summary (pagecore try), read off the files beside it
    return [os.path.join(d, n) for n in names
            if n.endswith(".json") and n != "try.json" and os.path.isfile(os.path.join(d, n))]


def _discover(p):
    """(machine, file) pairs under p; a machine is named by its directory."""
    if not os.path.exists(p):
        raise PagecoreError(f"{p}: no such file or directory")
    if not os.path.isdir(p):
        return [(_machine_of(p), p)]
    found = [(_machine_of(f), f) for f in _json_files(p)]
    for n in sorted(os.listdir(p)):
        sub = os.path.join(p, n)
        if os.path.isdir(sub):
            found += [(n, f) for f in _json_files(sub)]
    if not found:
        raise PagecoreError(f"{p}: no result files (expected <machine>/<suite>.json)")
    return found


def _machine_of(path):
    return os.path.basename(os.path.dirname(os.path.abspath(path))) or "local"


# A result file is a few MB at most; a larger one is not one of ours.
MAX_FILE_BYTES = 256 << 20


def read_json(path):
    """The JSON in @path, a regular file (a FIFO or a device would block or never end):
    PagecoreError, one line, for anything else."""
    import json

    try:
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode):
            raise PagecoreError(f"{path}: not a regular file")
        if st.st_size > MAX_FILE_BYTES:
            raise PagecoreError(f"{path}: {st.st_size} bytes, more than a result file holds")
        # O_NONBLOCK: should it have become a FIFO since the stat, open does not wait
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as f:
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                raise PagecoreError(f"{path}: not a regular file")
            raw = f.read(MAX_FILE_BYTES + 1)
    except OSError as e:
        raise PagecoreError(f"{path}: cannot read: {e.strerror}") from None
    if not raw.strip():
        raise PagecoreError(f"{path}: empty file")
    try:
        return json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise PagecoreError(f"{path}: not valid JSON (not UTF-8 text)") from None
    except json.JSONDecodeError as e:
        raise PagecoreError(
            f"{path}: not valid JSON: {e.msg} at line {e.lineno} column {e.colno}"
        ) from None
    except RecursionError:
        raise PagecoreError(f"{path}: not a result file: JSON nested too deeply") from None


_read_json = read_json


def _load_file(rs, machine, path):
    data = _read_json(path)
    if isinstance(data, dict) and isinstance(data.get("results"), list):
        _load_verify(rs.machine(machine), path, data["results"])
    elif isinstance(data, dict) and "benchmarks" in data and "version" in data:
        _load_suite(rs, machine, path, data)
    else:
        raise PagecoreError(f"{path}: neither a pyperf result file nor a pagecore verify file")


def _load_suite(rs, machine, path, data):
    import json

    import pyperf

    try:
        suite = pyperf.BenchmarkSuite.loads(json.dumps(data))
    except (ValueError, KeyError, TypeError, AttributeError, IndexError, OverflowError,
            RecursionError) as e:
        # what pyperf raises on a file of the right shape but wrong content
        why = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise PagecoreError(f"{path}: not a valid pyperf result file: {why}") from None
    m = rs.machine(machine)
    hosts = {str(b.get_metadata()["hostname"]) for b in suite.get_benchmarks()
             if "hostname" in b.get_metadata()}
    if "hostname" in m.meta:
        hosts.add(str(m.meta["hostname"]))
    if len(hosts) > 1:
        # one column per machine: results of two hosts must not merge into one silently
        raise PagecoreError(f"{os.path.dirname(path) or '.'}: results from more than one host "
                            f"({', '.join(sorted(hosts))}) under one machine directory; "
                            "put each host's files in a directory of its own")
    m.files.append(path)
    loaded = skipped = 0
    slow_at = _sentinel_limits(suite)
    kept_sentinels = []
    for bench in suite.get_benchmarks():
        name = bench.get_name()
        parsed = parse_name(name or "")
        if parsed is None:
            skipped += 1
            continue
        runs = [r.values for r in bench.get_runs() if r.values]
        if not runs:
            continue
        meta = bench.get_metadata()
        by_worker, cpus, per_run, dropped, workers = {}, [], [], 0, 0
        for r in bench.get_runs():
            if not r.values:
                continue
            rmeta = r.get_metadata()
            w = rmeta.get("pagecore_worker")
            workers += isinstance(w, int) and not isinstance(w, bool)
            cpus += _ints(rmeta.get("pagecore_cpus"))
            kept = _unslowed(r.values, rmeta, slow_at)
            kept_sentinels += _kept_sentinels(r.values, rmeta, slow_at)
            dropped += len(r.values) - len(kept)
            if not kept:
                continue   # every value of this process was taken while its CPU was slowed
            per_run.append(_run_value(kept))
            if isinstance(w, int) and not isinstance(w, bool):
                by_worker[w] = per_run[-1]
        if not per_run:
            per_run = [_run_value(v) for v in runs]
            by_worker, dropped = {}, 0
        samples = per_run if len(runs) > 1 else list(runs[0])
        if workers != len(runs) or not by_worker:
            by_worker = None   # not a pagecore suite of paired workers
        if name in m.results:
            rs.notes.append(f"{machine}: {name} is in more than one file; the last one read "
                            "is used")
        if dropped:
            m.dropped += dropped
        impl = meta.get("pagecore_impl")
        m.results[name] = Result(machine, name, *parsed, samples=tuple(samples),
                                 events=parse_events(meta.get("pagecore_events")),
                                 by_worker=by_worker, impl=impl if isinstance(impl, str) else None,
                                 cpus=tuple(cpus), unstable=tuple(_checks(bench)))
        loaded += 1
        for k in ("hostname", "cpu_count", "cpu_model_name", "platform", "python_version"):
            if k in meta and k not in m.meta:
                m.meta[k] = meta[k]
        dates = bench.get_dates()
        if dates:
            m.meta.setdefault("dates", []).extend(d.strftime("%Y-%m-%d") for d in dates)
    if not loaded:
        raise PagecoreError(f"{path}: not a pagecore result file (no benchmark is named "
                            "suite/case/variant)")
    if kept_sentinels:
        suites = {r.suite for r in m.results.values() if r.name in
                  {b.get_name() for b in suite.get_benchmarks()}}
        for s in suites:
            m.sentinel[s] = statistics.median(kept_sentinels) * 1e-9
    if skipped:
        rs.notes.append(
            f"{path}: {skipped} benchmarks with names not of the form suite/case/variant "
            "were ignored"
        )


# A value whose sentinel (a fixed locked-RMW loop timed just before it) ran this much slower
# than its process's median sentinel was taken while the CPU was slowed (a preemption, the
# host): the value says nothing about the code and is left out.
SENTINEL_SLOW = 1.5


def _checks(bench):
    from pagecore.report.stability import pyperf_checks

    try:
        return pyperf_checks(bench)
    except (ValueError, ZeroDivisionError, TypeError, AttributeError):
        return []      # a benchmark pyperf itself could not check


def _sentinel_limits(suite):
    """worker -> the sentinel time above which its values are left out."""
    per = {}
    for bench in suite.get_benchmarks():
        for r in bench.get_runs():
            md = r.get_metadata()
            w = md.get("pagecore_worker")
            per.setdefault(w, []).extend(_floats(md.get("pagecore_sentinel_ns")))
    return {w: SENTINEL_SLOW * statistics.median(xs) for w, xs in per.items() if xs}


def _unslowed(values, rmeta, slow_at):
    """The values of a run that were not taken while its CPU was slowed (all of them when
    there is no sentinel to say)."""
    sent = _floats(rmeta.get("pagecore_sentinel_ns"))
    limit = slow_at.get(rmeta.get("pagecore_worker"))
    if limit is None or len(sent) != len(values):
        return list(values)
    return [v for v, x in zip(values, sent) if x <= limit]


def _kept_sentinels(values, rmeta, slow_at):
    """The sentinels (ns) of the values _unslowed() keeps."""
    sent = _floats(rmeta.get("pagecore_sentinel_ns"))
    limit = slow_at.get(rmeta.get("pagecore_worker"))
    if len(sent) != len(values):
        return []
    return [x for x in sent if limit is None or x <= limit]


def _run_value(values):
    """One process's value: the median of its rounds, so that one round caught by a
    preemption the sentinel missed does not move it (the mean of two)."""
    return statistics.median(values)


def _floats(text):
    out = []
    for x in str(text or "").split():
        try:
            out.append(float(x))
        except ValueError:
            return []
    return out


def _ints(text):
    out = []
    for x in str(text or "").split():
        try:
            out.append(int(x))
        except ValueError:
            return []
    return out


def _load_verify(m, path, rows):
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise PagecoreError(f"{path}: verify result {i} is not an object")
        for k in ("variant", "scenario"):
            if not isinstance(row.get(k), str):
                raise PagecoreError(f"{path}: verify result {i} has no {k!r} string")
        failures = row.get("failures", [])
        if not isinstance(failures, list) or not all(isinstance(f, str) for f in failures):
            raise PagecoreError(f"{path}: verify result {i}: 'failures' must be a list of "
                                "strings")
        counts = row.get("counts", {})
        if not isinstance(counts, dict) or not all(
                isinstance(k, str) and isinstance(v, (int, float)) and not isinstance(v, bool)
                and math.isfinite(v) and v >= 0 for k, v in counts.items()):
            raise PagecoreError(f"{path}: verify result {i}: 'counts' must map names to "
                                "numbers >= 0")
        for k in ("mode", "inconclusive"):
            if k in row and not isinstance(row[k], str):
                raise PagecoreError(f"{path}: verify result {i}: {k!r} must be a string")
        if not isinstance(row.get("evidence", []), list):
            raise PagecoreError(f"{path}: verify result {i}: 'evidence' must be a list")
    m.verify.extend(rows)
    m.files.append(path)


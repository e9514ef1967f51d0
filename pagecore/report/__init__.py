"""Overhead reports: what each fix costs, which correct fix is cheapest, and how sure we are.

Input is what `pagecore bench` and `pagecore verify --json` write: results/<machine>/<suite>.json
(pyperf suites, values in seconds per operation, benchmark names suite/case/variant[/k=v...])
and results/<machine>/verify.json.  Output is reports/<name>/report.md and a self-contained
report.html (plots inlined), plus the `report`, `choose` and `compare` commands.

Statistics.  Each pyperf run is a fresh worker process, so the unit of independence is the
run: a benchmark's sample is its per-run means (all values when there is a single run).  Costs
are shown as mean +-stddev; a change against the baseline is significant when Welch's two-sample
t-test on those samples rejects equal means at 95% (pyperf's t table, Welch-Satterthwaite
degrees of freedom), marked `*`; `~` means within noise.

Choosing a fix.  A workload mix gives each measured operation (a benchmark name without its
variant) a weight, its relative frequency.  A variant's weighted cost is sum(weight * cost):
nanoseconds per operation of the mix.  Only variants that pass every verification scenario are
ranked.  The default mix, DEFAULT_MIX below:

    hotpath/end_page_writeback_no_waiters       0.60  nobody waits: the common case
    hotpath/wait_on_page_writeback_clear        0.20  fsync/truncate finding writeback done
    hotpath/end_page_writeback_sleeping_waiter       0.10  a waiter to wake
    hashchain/end_page_writeback/bits=8/chain=4 0.10  the wake walks a shared bucket
    dirty/cpdfio_writepage/state=unmapped       0.50  (dirty path, ranked separately)
    dirty/cpdfio_writepage/state=mapped_clean   0.30
    dirty/cpdfio_writepage/state=mapped_dirty   0.20
"""

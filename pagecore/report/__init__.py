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
ranked.  The default mix (DEFAULT_MIX in pagecore.report.choose) counts the operations of a
described workload, 1024 writers that write 32 pages and fsync them in a loop and a reader
running fdatawait over the file (choose.workload_mix(); reports/README.md derives it):

    hotpath/wait_on_page_writeback_clear                       0.496
    hotpath/unlock_page_no_waiters                             0.252
    hotpath/end_page_writeback_no_waiters                      0.244
    hashchain/end_page_writeback/bits=8/chain=4/entries=cold   0.008
    dirty/cpdfio_writepage/state=unmapped                      0.50  (dirty path, ranked apart)
    dirty/cpdfio_writepage/state=mapped_clean                  0.30
    dirty/cpdfio_writepage/state=mapped_dirty                  0.20
"""

"""The report's figures: matplotlib, Agg backend, PNG at 110 dpi.

Every function takes plain numbers already in the unit it draws (ns, Mops/s) and writes one
PNG.  A variant keeps its colour in every figure; a machine keeps its colour in bar charts,
where the variant is on the axis instead.  Racy variants are hatched or dashed, so a cheap
but wrong variant cannot be mistaken for a candidate at a glance.
"""

import math

DPI = 110
BOOKMARK = 64   # WAITQUEUE_WALK_BREAK_CNT: the walk parks a bookmark after 64 entries

# Sixteen colours picked greedily for the largest least distance between any two (CIE76
# Delta E >= 29 for every pair), none lighter than L* 70 so that each reads on white: one per
# built-in variant, and pagecore and plain-c, so that a variant keeps its colour in every
# figure and no two lines of a figure look alike.  Markers and dashes tell them apart too.
# In the order of the built-ins (pagecore/variants/, by name): the two palest go to the
# dirty-path variants, which are drawn as bars, in the machines' colours, never as lines.
_PALETTE = ["#1f77b4", "#d62728", "#66a61e", "#c49c94", "#fc8d62", "#7a0177", "#005a32",
            "#f0027f", "#a6761d", "#ff7f00", "#e377c2", "#843c39", "#000000", "#636363",
            "#6b6ecf", "#7b4173"]
_MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*", "<", ">", "h", "p", "d", "8", "H", "1"]
_MACHINE = ["#3b6fb6", "#e08a2c", "#4a9c5d", "#9b59b6", "#c0392b", "#7f8c8d"]


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({
        "font.size": 9.5, "axes.titlesize": 10.5, "axes.titleweight": "bold",
        "axes.labelsize": 9.5, "legend.fontsize": 8.5, "axes.spines.top": False,
        "axes.spines.right": False, "axes.grid": True, "grid.alpha": 0.3,
        "grid.linestyle": "-", "figure.facecolor": "white",
    })
    return plt


def _variant_index(variant):
    from pagecore.model.variants import VARIANTS

    names = [n for n, v in VARIANTS.items() if v.builtin] + ["pagecore", "plain-c"]
    if variant in names:
        return names.index(variant)
    # a variant file of one's own: the colours the built-ins leave, then any
    return len(names) + sum(map(ord, variant))


def variant_color(variant):
    return _PALETTE[_variant_index(variant) % len(_PALETTE)]


def variant_marker(variant):
    return _MARKERS[_variant_index(variant) % len(_MARKERS)]


def _wrap_title(text, width):
    """A panel title on lines of at most @width characters, broken after `_`, `,` or a
    space, so that neighbouring panels' titles never run into each other."""
    import re

    parts = re.findall(r"[^_, ]+[_, ]*", text) or [text]
    lines, cur = [], ""
    for p in parts:
        if cur and len(cur) + len(p.rstrip()) > width:
            lines.append(cur.rstrip())
            cur = ""
        cur += p
    lines.append(cur.rstrip())
    return "\n".join(lines)


def _save(fig, path):
    """The figure as a PNG of at most 256 colours (a chart has a few dozen, and their
    antialiased edges): a third of the bytes, the same to the eye, and report.html inlines
    every figure."""
    import io

    import matplotlib.pyplot as plt
    from PIL import Image

    buf = io.BytesIO()
    fig.savefig(buf, dpi=DPI, bbox_inches="tight", format="png")
    plt.close(fig)
    buf.seek(0)
    im = Image.open(buf).convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT,
                                                 dither=Image.Dither.NONE)
    im.save(path, format="PNG", optimize=True)
    return path


def _grid(plt, n, ncols, w=10.0, h=2.9, layout=None):
    ncols = max(1, min(ncols, n))
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(w, h * nrows + 0.6), squeeze=False,
                             layout=layout)
    flat = [a for row in axes for a in row]
    for a in flat[n:]:
        a.set_visible(False)
    return fig, flat[:n]


def cost_bars(path, title, panels, machines, racy=(), baseline=None, ncols=2):
    """Horizontal bars, one panel per case: cost of each variant with its 95% CI.

    panels: [(panel title, [(variant, {machine: (mean_ns, ci_ns)})])]
    """
    from matplotlib.patches import Patch

    plt = _plt()
    nvar = max(len(rows) for _, rows in panels)
    fig, axes = _grid(plt, len(panels), ncols, h=0.34 * nvar * max(1, len(machines) * 0.75)
                      + 0.9)
    height = 0.8 / len(machines)
    # the same variants in every panel: name them once per row of panels
    same = len({tuple(v for v, _ in rows) for _, rows in panels}) == 1
    ncols = min(ncols, len(panels))
    for k, (ax, (ptitle, rows)) in enumerate(zip(axes, panels)):
        top = max((v[0] + v[1] for _, d in rows for v in d.values()), default=1) or 1
        for i, (variant, data) in enumerate(rows):
            for j, m in enumerate(machines):
                if m not in data:
                    continue
                mean, ci = data[m]
                y = i + (j - (len(machines) - 1) / 2) * height
                bad = variant in racy
                ax.barh(y, mean, height * 0.92, xerr=ci, color=_MACHINE[j % len(_MACHINE)],
                        alpha=0.45 if bad else 0.9, hatch="///" if bad else None,
                        edgecolor="#444" if bad else "none", linewidth=0.4,
                        error_kw={"elinewidth": 1, "capsize": 2.5, "ecolor": "#222"})
                ax.text(mean + ci + top * 0.015, y, _short(mean), va="center", fontsize=7.5,
                        color="#333")
        labels = [v + (" (baseline)" if v == baseline else "") for v, _ in rows]
        if same and k % ncols:
            labels = [""] * len(rows)
        ax.set_yticks(range(len(rows)), labels)
        for tick, (v, _) in zip(ax.get_yticklabels(), rows):
            if v == baseline:
                tick.set_fontweight("bold")
            if v in racy:
                tick.set_color("#a31515")
        ax.invert_yaxis()
        ax.set_xlim(0, top * 1.18)
        # short: a neighbour's label sits beside it; the figure says what bars and whiskers are
        ax.set_xlabel("ns/op")
        ax.set_title(ptitle)        # wrapped to its panel's width once laid out
        ax.grid(axis="y", visible=False)
    handles = [Patch(color=_MACHINE[j % len(_MACHINE)], label=m) for j, m in enumerate(machines)]
    if any(v in racy for _, rows in panels for v, _ in rows):
        handles.append(Patch(facecolor="white", edgecolor="#444", hatch="///",
                             label="racy (fails verification)"))
    fig.legend(handles=handles, loc="upper right", ncol=len(handles), frameon=False,
               bbox_to_anchor=(1.0, 1.0))
    fig.suptitle(title + "  (bars: mean ns/op, whiskers: 95% CI)", x=0.01, ha="left",
                 fontweight="bold", fontsize=12)
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    _fit_titles(fig, axes, [t for t, _ in panels])
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    return _save(fig, path)


def _fit_titles(fig, axes, titles):
    """Wrap each panel's title to the width its panel got once laid out (long variant names
    on the axis leave the panels narrow), so that neighbours' titles never meet."""
    r = fig.canvas.get_renderer()
    for ax, title in zip(axes, titles):
        width = ax.get_window_extent(r).width
        size = ax.title.get_fontsize() * fig.dpi / 72.0
        # a bold character is about 0.7 em wide at most in the default font
        ax.set_title(_wrap_title(title, max(8, int(width / (0.7 * size)))))


def _short(ns):
    if ns >= 1000:
        return f"{ns:,.0f}"
    return f"{ns:.3g}"


def hashchain(path, title, panels, racy=(), ylabel="ns/op"):
    """Cost against chain length, log-log, with each variant's straight-line fit.

    panels: [(panel title, {variant: [(chain, mean_ns, ci_ns)]}, {variant: (b, a, ci_b)})],
    ci_b the half-width of the slope's 95% interval, as the report's table gives it.  A fit
    is drawn over the chain lengths measured only, and only where it is above zero: on a log
    axis a line through the points must not dive off them.
    """
    import numpy as np

    from pagecore.report.formats import fmt_slope

    plt = _plt()
    # one panel a row, legend beside it: with every variant the legend would hide the data
    fig, axes = _grid(plt, len(panels), 1, w=11.0, h=3.8)
    for ax, (ptitle, series, fits) in zip(axes, panels):
        xs_all = [c for pts in series.values() for c, _, _ in pts]
        xmin, xmax = min(xs_all), max(xs_all)
        lo = [m - ci for pts in series.values() for _, m, ci in pts if m - ci > 0]
        lo += [m for pts in series.values() for _, m, _ in pts if m > 0]
        hi = [m + ci for pts in series.values() for _, m, ci in pts]
        for variant, pts in series.items():
            col = variant_color(variant)
            bad = variant in racy
            xs = [p[0] for p in pts]
            ax.errorbar(xs, [p[1] for p in pts], yerr=[p[2] for p in pts],
                        fmt=variant_marker(variant), ms=4, color=col, capsize=2, elinewidth=1)
            b, a, ci = fits[variant]
            # A straight line in chain length is not one on log axes: where the fit's
            # intercept is below zero it plunges at short chains, far from what was measured
            # there.  It is drawn from the shortest chain from which on it stays within a
            # factor of 2 of every point measured, and nowhere else.
            x0 = _fit_holds_from(pts, a, b)
            fx = np.unique(np.concatenate([[x0], np.geomspace(max(x0, 0.5), max(xmax, 1),
                                                              200), [xmax]]))
            fx = fx[(fx >= x0) & (fx <= xmax)]
            fy = a + b * fx
            keep = fy > 0
            ax.plot(fx[keep], fy[keep], "--" if bad else "-", color=col, lw=1.3,
                    label=f"{variant}{' (racy)' if bad else ''}: {fmt_slope(b, ci)} ns/entry")
        ax.set_xscale("symlog", linthresh=1, linscale=0.4)
        ax.set_yscale("log")
        ticks = [t for t in (0, 1, 4, 16, 64, 256, 1024, 4096, 16384, 65536)
                 if xmin <= t <= xmax * 1.01]
        ax.set_xticks(ticks, [str(t) for t in ticks])
        ax.set_xlim(xmin - 0.2 if xmin <= 0 else xmin / 1.4, xmax * 1.4)
        if lo and hi:
            ax.set_ylim(min(lo) / 1.5, max(hi) * 1.5)
        if xmin <= BOOKMARK <= xmax:
            ax.axvline(BOOKMARK, color="#555", ls=":", lw=1.2)
            ax.text(BOOKMARK * 1.06, 0.97, f"bookmark after {BOOKMARK} entries",
                    transform=ax.get_xaxis_transform(), va="top", fontsize=8, color="#444")
        ax.set_xlabel("other waiters in the same hash bucket (chain length, log scale)")
        ax.set_ylabel(ylabel + " (log scale)")
        ax.set_title(ptitle)
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False,
                  title="least-squares fit: cost = a + b x chain\nb in ns per colliding entry, "
                        "± its 95% interval",
                  title_fontsize=8, alignment="left")
    fig.suptitle(title, x=0.01, ha="left", fontweight="bold", fontsize=12)
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    return _save(fig, path)


def _fit_holds_from(pts, a, b):
    """The shortest chain measured from which on the line a + b x is within a factor of 2
    of every mean measured (the longest chain when it holds nowhere)."""
    pts = sorted(pts)
    start = pts[-1][0]
    for c, m, _ in reversed(pts):
        y = a + b * c
        if m <= 0 or not (m / 2 <= y <= m * 2):
            break
        start = c
    return start


def scaling(path, title, panels, racy=()):
    """Total throughput against threads, log-log, with the ideal linear-scaling line.

    On log-log axes linear scaling is a straight line of slope 1, so where a variant bends
    away from it, and by how much, reads directly off the plot.
    panels: [(panel title, {variant: [(threads, mops, ci_mops)]}, nproc or None)]
    """
    from matplotlib.ticker import FuncFormatter, LogLocator

    plt = _plt()
    fig, axes = _grid(plt, len(panels), 2, h=3.9, layout="constrained")
    handles = {}
    for ax, (ptitle, series, nproc) in zip(axes, panels):
        threads = sorted({t for pts in series.values() for t, _, _ in pts})
        one = [p[1] for pts in series.values() for p in pts if p[0] == 1]
        if one:
            ref = max(one)
            (h,) = ax.plot(threads, [ref * t for t in threads], "--", color="#777", lw=1.2)
            handles.setdefault("linear scaling (best 1-thread throughput x threads)", h)
        for variant, pts in series.items():
            bad = variant in racy
            h = ax.errorbar([p[0] for p in pts], [p[1] for p in pts], yerr=[p[2] for p in pts],
                            fmt=variant_marker(variant) + ("--" if bad else "-"), ms=4.5,
                            lw=1.5, capsize=2, color=variant_color(variant))
            handles.setdefault(variant + (" (racy)" if bad else ""), h)
        if nproc:
            ax.axvline(nproc, color="#555", ls=":", lw=1.2)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        # nproc is named under its tick, where no point or line can sit on it
        ax.set_xticks(threads, [f"{t}\n(nproc)" if t == nproc else str(t) for t in threads])
        if nproc and nproc not in threads:
            ax.text(nproc, 1.0, f" nproc={nproc}", transform=ax.get_xaxis_transform(),
                    fontsize=8, color="#444", va="bottom")
        ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1, 2, 5)))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.yaxis.set_minor_formatter(FuncFormatter(lambda v, _: ""))
        ax.set_xlabel("threads (log scale)")
        ax.set_ylabel("total throughput, Mops/s (log scale)")
        ax.set_title(ptitle)
    # the variants are the same in every panel: one legend for the figure, below it
    fig.legend(list(handles.values()), list(handles), loc="outside lower center",
               ncol=min(4, len(handles)), frameon=False)
    fig.suptitle(title, x=0.01, ha="left", fontweight="bold", fontsize=12)
    return _save(fig, path)


def wait_times(path, title, series, bound_ms=None, run_ms=None):
    """The slow waiter's wait times in writeback-starvation, one row per variant: every
    wait as a dot over a box of its quartiles, on a log scale (a starved wait lasts as long
    as the writers run, three orders of magnitude past one that is not).  series: (variant,
    [ms, ...], starved) in display order; starved rows are drawn dashed and labelled.
    @run_ms: how long the writers ran; a wait still going then ended there, and the plot
    says so at that line."""
    plt = _plt()
    series = [(v, ms, st) for v, ms, st in series if ms]
    fig, ax = plt.subplots(figsize=(10.0, 0.45 * max(len(series), 2) + 1.2))
    if not series:
        ax.text(0.5, 0.5, "no waits were measured", ha="center", va="center",
                transform=ax.transAxes)
        return _save(fig, path)
    import matplotlib
    import numpy as np

    # matplotlib 3.10 replaced vert=False by orientation="horizontal"
    horizontal = ({"orientation": "horizontal"}
                  if tuple(int(x) for x in matplotlib.__version__.split(".")[:2]) >= (3, 10)
                  else {"vert": False})
    rng = np.random.default_rng(0)      # the same jitter on every run of the report
    ys = list(range(len(series)))[::-1]
    for y, (v, ms, starved) in zip(ys, series):
        c = variant_color(v)
        box = ax.boxplot([ms], positions=[y], widths=0.55, whis=(1, 99), showfliers=False,
                         patch_artist=True, **horizontal)
        for part in ("boxes", "whiskers", "caps", "medians"):
            for art in box[part]:
                art.set_color(c)
                art.set_linestyle("--" if starved else "-")
        for art in box["boxes"]:
            art.set_facecolor(c)
            art.set_alpha(0.25)
        # a starved waiter makes few waits, each as long as the run: make them seen
        ax.scatter(ms, y + rng.uniform(-0.18, 0.18, len(ms)), s=6 if len(ms) >= 10 else 30,
                   color=c, alpha=0.5 if len(ms) >= 10 else 0.9, linewidths=0,
                   marker="o" if not starved else "D")
    ax.set_yticks(ys)
    ax.set_yticklabels(["%s%s" % (v, "  (starved)" if st else "") for v, _, st in series])
    ax.set_xscale("log")
    ax.set_xlabel("wait_on_page_writeback() of the slow waiter, ms (log scale; box: "
                  "quartiles, whiskers: 1st-99th percentile)")
    # each line's label on its left, inside the waits' range: the bound's under the last
    # row, the cut's over the first, so that neither runs into the other nor needs the axis
    # to reach past the longest wait
    label = {"fontsize": 8, "va": "bottom", "ha": "right",
             "bbox": {"facecolor": "white", "edgecolor": "none", "pad": 0.5}}
    if bound_ms:
        ax.axvline(bound_ms, color="#555", linestyle=":", linewidth=1)
        ax.text(bound_ms, -0.64, "bound %g ms " % bound_ms, color="#555", **label)
    if run_ms:
        ax.axvline(run_ms, color="#a31515", linestyle="--", linewidth=1)
        ax.text(run_ms, ys[0] + 0.45, "the writers stopped (%g s): waits cut here " %
                (run_ms / 1000), color="#a31515", **label)
    # room past the longest wait (or the cut) for the markers drawn on it, and no more
    longest = max([max(ms) for _, ms, _ in series] + [run_ms or 0, bound_ms or 0])
    ax.set_xlim(ax.get_xlim()[0], longest * 1.5)
    ax.set_ylim(-0.7, len(series) - 0.1)
    ax.set_title(title)
    ax.grid(axis="y", visible=False)
    return _save(fig, path)

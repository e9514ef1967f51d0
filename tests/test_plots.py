"""The report's figures, each checked for what a reader relies on: axes that show the data
and not far beyond it, a legend that says what the table says, colours that tell the lines
apart, titles that do not run into each other, the kernel's names spelled as the kernel
spells them, and a cut that is marked where it is made.

The figures are those the report draws from tests/data/report (synthetic, two machines),
caught before they are closed."""

import itertools
import json
import math
import os
import re
import shutil

import numpy as np
import pytest
from matplotlib.colors import to_rgb

from pagecore.report import plots, writer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "tests", "data", "report")


def _lab(c):
    r, g, b = [((x + 0.055) / 1.055) ** 2.4 if x > 0.04045 else x / 12.92 for x in to_rgb(c)]
    x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047
    y = 0.2126 * r + 0.7152 * g + 0.0722 * b
    z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883

    def f(t):
        return t ** (1 / 3) if t > 0.008856 else 7.787 * t + 16 / 116
    return 116 * f(y) - 16, 500 * (f(x) - f(y)), 200 * (f(y) - f(z))


def delta_e(a, b):
    """CIE76 colour difference: about 2 is the least a person sees; lines a reader must
    tell apart at a glance need far more."""
    return math.dist(_lab(a), _lab(b))


@pytest.fixture(scope="module")
def figures(tmp_path_factory):
    """Every figure of a report of the synthetic data with liveness rows: path -> Figure."""
    root = tmp_path_factory.mktemp("plots")
    d = root / "alpha"
    shutil.copytree(os.path.join(DATA, "alpha"), d)
    doc = json.loads((d / "verify.json").read_text())
    for v, starved in (("original", False), ("folio-6.7", True), ("shipped-5.10", True)):
        waits = [400.0, 500.0] if starved else [1.0 + 0.01 * i for i in range(40)]
        doc["results"].append({
            "variant": v, "scenario": "writeback-starvation", "mode": "replay",
            "failures": ["starved"] if starved else [], "counts": {"waits": len(waits)},
            "evidence": [], "liveness": {
                "starved": starved, "wait_ms": waits, "wait_p99_ms": max(waits),
                "resleeps": 400 if starved else 0, "bound_ms": 100.0, "seconds": 0.5,
                "writers": 1, "io_us": 500, "throttle_us": 1000}})
    (d / "verify.json").write_text(json.dumps(doc))
    caught = {}
    real = plots._save

    def save(fig, path):
        fig.canvas.draw()       # lay it out as it is saved, then look at it
        caught[os.path.basename(path)] = fig
        return real(fig, path)
    mp = pytest.MonkeyPatch()
    mp.setattr(plots, "_save", save)
    try:
        page = writer.write_report([str(d), os.path.join(DATA, "beta")], str(root / "out"))
    finally:
        mp.undo()
    md = open(os.path.join(os.path.dirname(page), "report.md"), encoding="utf-8").read()
    return caught, md


def renderer(fig):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)      # the figure is closed: draw it on a canvas of its own
    canvas.draw()
    return canvas.get_renderer()


def _lines(ax):
    return [ln for ln in ax.get_lines() if len(ln.get_xdata()) > 1 and ln.get_label()
            and not ln.get_label().startswith("_")]


def test_every_figure_is_drawn(figures):
    caught, _ = figures
    assert set(caught) == {"fig-floor.png", "fig-hotpath.png", "fig-contention.png",
                           "fig-hashchain-end_page_writeback.png",
                           "fig-hashchain-ipages_hold.png", "fig-dirty.png",
                           "fig-wait-times.png"}


@pytest.mark.parametrize("name", ["fig-hotpath.png", "fig-floor.png", "fig-dirty.png"])
def test_bar_panels_titles_do_not_overlap_and_axes_hold_the_bars(figures, name):
    caught, _ = figures
    fig = caught[name]
    r = renderer(fig)
    axes = [a for a in fig.axes if a.get_visible()]
    # no panel's title or axis label runs into another panel's
    texts = [t for a in axes for t in (a.title, a.xaxis.label) if t.get_text()]
    boxes = [t.get_window_extent(r) for t in texts]
    for (i, a), (j, b) in itertools.combinations(enumerate(boxes), 2):
        assert not a.overlaps(b), (name, texts[i].get_text(), texts[j].get_text())
    for ax in axes:
        right = max(p.get_x() + p.get_width() for p in ax.patches)
        lo, hi = ax.get_xlim()
        assert lo == 0 and right <= hi <= right * 1.6   # every bar shown, little beyond


def _hashchain_table(md, heading):
    """(params, variant) -> the ns/entry cell of the report's hash-chain table under
    @heading; params as the table writes them (`bits=8 entries=cold`)."""
    part = md[md.index(heading):]
    out, params = {}, None
    for line in part.splitlines()[1:]:
        if line.startswith("###") or line.startswith("## "):
            break
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) > 2 and re.match(r"-?\d+\.\d+ ±", cells[2]):
            params = cells[0] or params
            out[(params, cells[1].replace(" (racy)", ""))] = cells[2]
    return out


@pytest.mark.parametrize("name", ["fig-hashchain-end_page_writeback.png",
                                  "fig-hashchain-ipages_hold.png"])
def test_hashchain_fit_stays_with_the_data_and_its_legend_is_the_table(figures, name):
    caught, md = figures
    fig = caught[name]
    for ax in [a for a in fig.axes if a.get_visible() and a.get_lines()]:
        pts = [c for c in ax.containers]        # the measured points, with their CIs
        ys = [y for c in pts for y in c.lines[0].get_ydata()]
        xs = [x for c in pts for x in c.lines[0].get_xdata()]
        lo, hi = ax.get_ylim()
        assert min(ys) / 2 <= lo <= min(ys) and max(ys) <= hi <= max(ys) * 2
        for ln, c in zip(_lines(ax), pts):
            fx, fy = ln.get_xdata(), ln.get_ydata()
            # drawn over the chain lengths measured, never diving below what was: at each
            # chain measured that the line spans, within a factor of 2 of the point
            assert min(fx) >= min(xs) and max(fx) <= max(xs)
            assert min(fy) >= min(ys) / 1.5
            for x, y in zip(c.lines[0].get_xdata(), c.lines[0].get_ydata()):
                if min(fx) <= x <= max(fx):
                    at = float(np.interp(x, fx, fy))    # the line is straight in x
                    assert y / 2 <= at <= y * 2, (ln.get_label(), x, y, at)
        legend = ax.get_legend()
        shown = {t.get_text().split(":")[0].replace(" (racy)", ""): t.get_text().split(": ")[1]
                 for t in legend.get_texts()}
        heading = ("### i_pages lock hold time against chain length" if "ipages" in name
                   else "### cost of end_page_writeback against chain length")
        table = _hashchain_table(md, heading)
        params = " ".join(ax.get_title().split(", ")[1:])
        for v, text in shown.items():
            # the same slope and the same ± (the 95% interval) as the table
            assert text.replace(" ns/entry", "") == table[(params, v)], (v, text)


def test_ipages_is_spelled_as_the_kernel_spells_it(figures):
    caught, md = figures
    title = caught["fig-hashchain-ipages_hold.png"]._suptitle.get_text()
    assert title.startswith("i_pages lock hold time")
    assert "I_pages" not in md


def test_contention_lines_are_told_apart(figures):
    caught, _ = figures
    fig = caught["fig-contention.png"]
    for ax in fig.axes:
        lines = [c.lines[0] for c in ax.containers]
        colours = [ln.get_color() for ln in lines]
        for a, b in itertools.combinations(colours, 2):
            assert delta_e(a, b) >= 20, (a, b)
        markers = [ln.get_marker() for ln in lines]
        assert len(set(markers)) == len(markers)
        ys = [y for ln in lines for y in ln.get_ydata()]
        lo, hi = ax.get_ylim()
        assert lo <= min(ys) and max(ys) <= hi <= max(ys) * 10


def test_contention_names_nproc_where_no_point_can_cover_it(figures):
    # " nproc=2" written at the foot of its line sat on the points measured at 2 threads
    caught, _ = figures
    fig = caught["fig-contention.png"]
    r = renderer(fig)
    named = 0
    for ax in fig.axes:
        ticks = [t.get_text() for t in ax.get_xticklabels()]
        named += sum("(nproc)" in t for t in ticks)
        points = [ax.transData.transform(xy) for c in ax.containers
                  for xy in c.lines[0].get_xydata()]
        for t in ax.texts:
            box = t.get_window_extent(r).expanded(1.0, 1.0)
            assert not any(box.contains(x, y) for x, y in points), t.get_text()
    assert named


def test_the_palette_tells_every_builtin_apart():
    from pagecore.model.variants import VARIANTS

    names = [n for n, v in VARIANTS.items() if v.builtin and v.kind == "writeback"]
    colours = [plots.variant_color(n) for n in names]
    assert len(set(colours)) == len(colours)
    assert min(delta_e(a, b) for a, b in itertools.combinations(colours, 2)) >= 25


def test_wait_times_say_where_the_run_cut_them(figures):
    caught, md = figures
    fig = caught["fig-wait-times.png"]
    (ax,) = fig.axes
    texts = [t.get_text() for t in ax.texts]
    assert any("writers stopped (0.5 s)" in t for t in texts)
    cut = [ln for ln in ax.get_lines() if list(ln.get_xdata()) == [500.0, 500.0]]
    assert cut, "no line where the run ended"
    lo, hi = ax.get_xlim()
    waits = [x for coll in ax.collections for x, _ in coll.get_offsets()]
    # the axis ends just past the longest wait, not a decade beyond it to fit a label
    assert lo <= min(waits) and max(waits) <= 500.0 < hi <= 2 * 500.0
    # both lines' labels inside the axes and clear of each other
    r = renderer(fig)
    box = ax.get_window_extent(r)
    labels = [t.get_window_extent(r) for t in ax.texts]
    assert len(labels) == 2
    assert all(box.x0 <= b.x0 and b.x1 <= box.x1 + 1 for b in labels)
    assert not labels[0].overlaps(labels[1])
    assert "The writers ran for 0.5 s" in md


def test_bar_panels_with_every_builtin_keep_their_labels_apart(tmp_path, monkeypatch):
    # the hot path as a full run draws it: every writeback built-in, eight cases, three a row
    from pagecore.model.variants import VARIANTS

    names = [n for n, v in VARIANTS.items() if v.builtin and v.kind == "writeback"]
    cases = ["end_page_writeback_no_waiters", "end_page_writeback_one_waiter",
             "end_page_writeback_sleeping_waiter", "wait_on_page_writeback_clear",
             "writeback_cycle", "unlock_page_no_waiters", "unlock_page_one_waiter",
             "unlock_page_sleeping_waiter"]
    panels = [(c, [(v, {"m": (100.0 + 37 * i + 1000 * k, 5.0)}) for i, v in enumerate(names)])
              for k, c in enumerate(cases)]
    caught = {}
    real = plots._save
    monkeypatch.setattr(plots, "_save", lambda fig, path: caught.setdefault("f", fig)
                        and real(fig, path))
    plots.cost_bars(str(tmp_path / "f.png"), "Hot path", panels, ["m"], racy=names[::2],
                    baseline=names[0], ncols=3)
    fig = caught["f"]
    r = renderer(fig)
    texts = [t for a in fig.axes if a.get_visible() for t in (a.title, a.xaxis.label)
             if t.get_text()]
    boxes = [t.get_window_extent(r) for t in texts]
    for (i, a), (j, b) in itertools.combinations(enumerate(boxes), 2):
        assert not a.overlaps(b), (texts[i].get_text(), texts[j].get_text())

"""The report as a list of blocks, rendered twice: Markdown and one self-contained HTML page.

The report code builds a Doc once; render_markdown() and render_html() only lay it out, so
the two files can never disagree on a number.  Inline markup in text is limited to `code`
and **bold**, which both outputs understand.  Everything else in a text is literal: much
of it comes from result files (machine directories, variant names, evidence), so both
renderers escape it: HTML escapes every text and attribute; Markdown escapes `<`, `>` and
the characters Markdown would read as markup, outside code spans, and fences code blocks
with more backticks than they hold.
"""

import base64
import html
import os
import re
from dataclasses import dataclass


@dataclass
class Cell:
    """A table cell that carries a CSS class (HTML only) and optional evidence lines."""

    text: str
    cls: str = ""
    details: tuple = ()
    timeline: object = None     # an explore counterexample, drawn under the evidence
    sub: str = ""               # a second, smaller line (Markdown: in parentheses)
    link: str = ""              # the anchor of what the cell stands on (HTML only)


# A fold (details) whose Markdown is larger than this is left to the HTML page, with a line
# that says so, unless the report is asked for in full: report.md stays small enough to read.
MD_FOLD_BYTES = 8000


class Doc:
    """The report as blocks, laid out by render_markdown() and render_html().

    full: Markdown keeps every fold whatever its size (pagecore report --full)."""

    def __init__(self, title, full=False):
        self.title = title
        self.blocks = []
        self.full = full

    def heading(self, level, text, anchor=None):
        self.blocks.append(("heading", level, text, anchor or _slug(text)))

    def para(self, text, cls=""):
        self.blocks.append(("para", text, cls))

    def bullets(self, items):
        if items:
            self.blocks.append(("bullets", list(items)))

    def table(self, headers, rows, align=None, caption="", cls=""):
        # align per column: "left", "right" (numbers) or "wrap" (left, long text that may
        # wrap in HTML; every other cell keeps to one line); cls: the table's CSS class
        align = list(align or ["left"] * len(headers))
        self.blocks.append(("table", list(headers), [list(r) for r in rows], align, caption,
                            cls))

    def image(self, filename, alt, caption=""):
        self.blocks.append(("image", filename, alt, caption))

    def details(self, summary, doc, anchor=None, brief=None):
        """A fold: open in HTML on a click.  Markdown shows @brief (a Doc) in its place
        when given, else the fold itself when it is small (MD_FOLD_BYTES) or the report
        is full, else a line that says the HTML page has it."""
        self.blocks.append(("details", summary, doc, anchor, brief))

    def pre(self, text):
        self.blocks.append(("pre", text))

    def stories(self, items):
        """Evidence stories: [(lines, count, where)], each told once with its count."""
        if items:
            self.blocks.append(("stories", list(items)))

    def timeline(self, tl):
        """An explore counterexample drawn as a timeline, a column per CPU."""
        self.blocks.append(("timeline", tl))

    def markdown_only(self, doc):
        """Blocks the Markdown shows in place of folds it leaves to the HTML page (none
        when the report is full: the folds themselves are there)."""
        self.blocks.append(("markdown", doc))


def _slug(text):
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _cell_text(c):
    return c.text if isinstance(c, Cell) else str(c)


# -- Markdown -----------------------------------------------------------------------------

def _md_escape_cell(text):
    return text.replace("|", "\\|").replace("\n", " ")


_MD_SPANS = re.compile(r"(`[^`]+`|\*\*[^*]+\*\*)")
_MD_ACTIVE = re.compile(r"[\\`*\[\]#~!]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")


def _md_plain(text):
    s = _MD_ACTIVE.sub(lambda m: "\\" + m.group(0), text)
    return s.replace("<", "&lt;").replace(">", "&gt;")


def _md_inline(text, block=False):
    """@text with only `code` and **bold** left as Markdown; the rest literal.
    A code span is inert (no HTML, no markup inside it) and is kept as it is.
    @block: the text starts a block, where a leading -, + or "1." opens a list."""
    out = []
    for i, part in enumerate(_MD_SPANS.split(str(text))):
        if i % 2:
            out.append(part if part.startswith("`") else "**%s**" % _md_plain(part[2:-2]))
        else:
            out.append(_md_plain(part))
    s = "".join(out)
    if block:
        s = re.sub(r"^(\s*)(?:([-+])|(\d+)\.)(?=\s|$)",
                   lambda m: m.group(1) + ("\\" + m.group(2) if m.group(2)
                                           else m.group(3) + "\\."), s)
    return s


def _md_fence(text):
    run = max((len(m) for m in re.findall(r"`+", text)), default=0)
    return "`" * max(3, run + 1)


def render_markdown(doc):
    from tabulate import tabulate

    out = ["# " + _md_inline(doc.title), ""]
    _md_blocks(doc.blocks, out, tabulate, doc.full)
    return "\n".join(out).rstrip() + "\n"


def _md_cell(c):
    text = _cell_text(c)
    if isinstance(c, Cell) and c.sub:
        text += " (%s)" % c.sub
    return _md_escape_cell(_md_inline(text))


def _md_blocks(blocks, out, tabulate, full=False):
    for b in blocks:
        kind = b[0]
        if kind == "heading":
            out += ["#" * b[1] + " " + _md_inline(b[2]), ""]
        elif kind == "para":
            text = _md_inline(b[1], block=True)
            if b[2] == "warn":
                text = "> **Warning:** " + text
            out += [text, ""]
        elif kind == "bullets":
            out += ["- " + _md_inline(item) for item in b[1]] + [""]
        elif kind == "table":
            headers, rows, align, caption, _ = b[1:]
            if caption:
                out += [_md_inline(caption, block=True), ""]
            body = [[_md_cell(c) for c in r] for r in rows]
            out += [tabulate(body, headers=[_md_escape_cell(_md_inline(h)) for h in headers],
                             tablefmt="github", disable_numparse=True,
                             colalign=["left" if a == "wrap" else a for a in align]), ""]
            # evidence behind a cell goes under the table, named by row and column
            ev = []
            for r in rows:
                for h, c in zip(headers, r):
                    if isinstance(c, Cell) and c.details:
                        ev.append("- **%s**:" % _md_plain(f"{_cell_text(r[0])} / {h}"))
                        ev += ["  - " + _md_inline(line) for line in c.details]
                    if isinstance(c, Cell) and c.timeline:
                        ev += ["", "  ```"] + ["  " + line for line in
                                              _timeline_lines(c.timeline)] + ["  ```", ""]
            if ev:
                out += ["<details><summary>Evidence</summary>", ""] + ev + ["", "</details>", ""]
        elif kind == "image":
            out += [f"![{_md_plain(b[2])}]({b[1]})"]
            out += (["", f"*{_md_inline(b[3])}*"] if b[3] else []) + [""]
        elif kind == "details":
            summary, inner, _, brief = b[1:]
            if brief is not None and not full:
                _md_blocks(brief.blocks, out, tabulate)
                continue
            fold = [f"<details><summary>{html.escape(summary, quote=False)}</summary>", ""]
            _md_blocks(inner.blocks, fold, tabulate, full)
            fold += ["</details>", ""]
            if full or len("\n".join(fold).encode()) <= MD_FOLD_BYTES:
                out += fold
            else:
                out += [f"*{_md_inline(summary)}: folded in report.html (`pagecore report "
                        "--full` writes it here too).*", ""]
        elif kind == "pre":
            fence = _md_fence(b[1])
            out += [fence, b[1].rstrip("\n"), fence, ""]
        elif kind == "stories":
            for lines, count, where in b[1]:
                told = f" (told {count} times: {'; '.join(where)})" if count > 1 else ""
                out.append("- " + _md_inline(lines[0]) + _md_plain(told))
                out += ["  - " + _md_inline(x) for x in lines[1:]]
            out.append("")
        elif kind == "timeline":
            out += ["```"] + _timeline_lines(b[1]) + ["```", ""]
        elif kind == "markdown" and not full:
            _md_blocks(b[1].blocks, out, tabulate, full)


# -- HTML ---------------------------------------------------------------------------------

_CSS = """
body { font: 15px/1.5 -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif;
       color: #1d2330; margin: 0; background: #f6f7f9; }
main { max-width: 1180px; margin: 0 auto; padding: 24px 32px 64px; background: #fff;
       box-shadow: 0 0 12px rgba(0,0,0,.06); }
h1 { font-size: 26px; margin: 8px 0 4px; }
h2 { font-size: 21px; margin-top: 40px; padding-bottom: 4px; border-bottom: 2px solid #e3e6ea; }
h3 { font-size: 17px; margin-top: 28px; }
code { font: 13px/1.4 Menlo, Consolas, monospace; background: #f0f2f5; padding: 1px 4px;
       border-radius: 3px; }
div.tl { overflow-x: auto; margin: 6px 0; }
table.timeline { font: 12px/1.35 Menlo, Consolas, monospace; border-collapse: collapse; }
table.timeline td, table.timeline th { border: 1px solid #dde1e6; padding: 2px 6px;
                                       vertical-align: top; white-space: normal; }
table.timeline td.st { color: #555; }
table.timeline span.op { color: #2a5db0; }
table.timeline tr.fail td { background: #fbe3e4; font-weight: 600; }
table.timeline tr.failstep td { background: #fdf0f0; border-top: 2px solid #c0392b; }
td.disagree { background: #fff1d6 !important; }
pre { font: 13px/1.45 Menlo, Consolas, monospace; background: #f0f2f5; padding: 10px 12px;
      overflow-x: auto; border-radius: 4px; }
table { border-collapse: collapse; margin: 10px 0 18px; font-size: 13.5px; }
p.cap { color: #555; font-size: 13.5px; margin: 12px 0 -4px; }
.tw { overflow-x: auto; max-width: 100%; }
th, td { border: 1px solid #d8dce2; padding: 4px 9px; vertical-align: top; }
td { white-space: nowrap; }
td.w, td details { white-space: normal; }
td details { min-width: 240px; }
th { background: #eef1f5; position: sticky; top: 0; }
tbody tr:nth-child(even) td { background: #fafbfc; }
td.r, th.r { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.clean { background: #dff3e1 !important; }
td.racy { background: #f9d6d5 !important; }
td.unverified { background: #eceef1 !important; color: #555; }
td.live { background: #dff3e1 !important; }
td.starved { background: #fde3c4 !important; }
td.same-source { color: #666; font-style: italic; }
td.best { font-weight: 600; }
td.sig-worse { color: #a31515; }
td.sig-better { color: #17692b; }
details { margin: 4px 0 10px; }
details summary { cursor: pointer; color: #2856a3; }
td details { margin: 2px 0 0; font-size: 12.5px; }
td details ul { margin: 2px 0; padding-left: 16px; }
.warn { background: #fff4d6; border-left: 4px solid #e0a800; padding: 8px 12px; }
.answer { background: #e9f2fe; border-left: 4px solid #2f6fd6; padding: 8px 12px; }
figure { margin: 14px 0 24px; }
figure img { max-width: 100%; border: 1px solid #e3e6ea; }
figcaption { color: #555; font-size: 13.5px; }
nav ul { columns: 2; font-size: 14px; }
table.matrix td { white-space: normal; max-width: 330px; }
table.matrix td a { color: inherit; text-decoration: none; border-bottom: 1px dotted #777; }
span.sub { color: #555; font-size: 12px; }
details.ev { margin: 2px 0 8px; }
details.ev > ul { margin: 4px 0; }
span.count { color: #2856a3; font-weight: 600; }
td.unstable, span.unstable { color: #a15c00; }
"""


def _attr(text):
    """A value for an attribute in double quotes (an id, a class, an anchor)."""
    return html.escape(str(text), quote=True)


def _inline(text):
    s = html.escape(str(text), quote=True)
    s = re.sub(r"`([^`]+)`", r"<code>\1</code>", s)
    s = re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", s)
    return s


def render_html(doc, basedir):
    """One page, images inlined as data URIs so the file can be mailed or archived alone."""
    toc = [(b[3], b[2]) for b in doc.blocks if b[0] == "heading" and b[1] == 2]
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f"<title>{html.escape(doc.title)}</title>", f"<style>{_CSS}</style>",
           "</head><body><main>", f"<h1>{_inline(doc.title)}</h1>"]
    if toc:
        out.append("<nav><ul>{}</ul></nav>".format("".join(
            f'<li><a href="#{_attr(a)}">{_inline(t)}</a></li>' for a, t in toc)))
    _html_blocks(doc.blocks, out, basedir)
    out.append("</main></body></html>")
    return "\n".join(out) + "\n"


# after a / or _ outside a tag: where a long identifier may break
_BREAK_AFTER = re.compile(r"(?<=[/_])(?![^<>]*>)")


def _html_cell(c, align, tag="td"):
    text = _cell_text(c)
    classes = {"right": ["r"], "wrap": ["w"]}.get(align, [])
    inner = _inline(text)
    if tag == "th":
        # a header is often a benchmark's path (hotpath/unlock_page_no_waiters): let it
        # break after / and _, or a table of a few such columns runs off the page
        inner = _BREAK_AFTER.sub("<wbr>", inner)
    if isinstance(c, Cell):
        if c.link:
            inner = f'<a href="#{_attr(c.link)}">{inner}</a>'
        if c.sub:
            inner += f'<br><span class="sub">{_inline(c.sub)}</span>'
        if c.cls:
            classes.append(c.cls)
        if c.details or c.timeline:
            items = "".join(f"<li>{_inline(d)}</li>" for d in c.details)
            tl = _timeline_html(c.timeline) if c.timeline else ""
            inner += f"<details><summary>evidence</summary><ul>{items}</ul>{tl}</details>"
    cls = ' class="{}"'.format(_attr(" ".join(classes))) if classes else ""
    return f"<{tag}{cls}>{inner}</{tag}>"


def _html_blocks(blocks, out, basedir):
    for b in blocks:
        kind = b[0]
        if kind == "heading":
            out.append(f'<h{b[1]} id="{_attr(b[3])}">{_inline(b[2])}</h{b[1]}>')
        elif kind == "para":
            cls = f' class="{_attr(b[2])}"' if b[2] else ""
            out.append(f"<p{cls}>{_inline(b[1])}</p>")
        elif kind == "bullets":
            out.append("<ul>{}</ul>".format("".join(f"<li>{_inline(i)}</li>" for i in b[1])))
        elif kind == "table":
            headers, rows, align, caption, tcls = b[1:]
            if caption:
                # above the scroll box, so a wide table does not carry it off the page
                out.append(f'<p class="cap">{_inline(caption)}</p>')
            out.append('<div class="tw"><table{}>'.format(
                f' class="{_attr(tcls)}"' if tcls else ""))
            out.append("<thead><tr>{}</tr></thead><tbody>".format("".join(
                _html_cell(h, a, "th") for h, a in zip(headers, align))))
            for r in rows:
                cells = "".join(_html_cell(c, a) for c, a in zip(r, align))
                out.append(f"<tr>{cells}</tr>")
            out.append("</tbody></table></div>")
        elif kind == "image":
            with open(os.path.join(basedir, b[1]), "rb") as f:
                data = base64.b64encode(f.read()).decode("ascii")
            alt = html.escape(b[2])
            out.append(f'<figure><img alt="{alt}" src="data:image/png;base64,{data}">')
            if b[3]:
                out.append(f"<figcaption>{_inline(b[3])}</figcaption>")
            out.append("</figure>")
        elif kind == "details":
            summary, inner, anchor, _ = b[1:]
            ident = f' id="{_attr(anchor)}" class="ev"' if anchor else ""
            out.append(f"<details{ident}><summary>{_inline(summary)}</summary>")
            _html_blocks(inner.blocks, out, basedir)
            out.append("</details>")
        elif kind == "pre":
            out.append(f"<pre>{html.escape(b[1])}</pre>")
        elif kind == "stories":
            items = []
            for lines, count, where in b[1]:
                told = (f' <span class="count">×{count}</span> <span class="sub">'
                        f'({_inline("; ".join(where))})</span>' if count > 1 else "")
                rest = ("<ul>{}</ul>".format("".join(f"<li>{_inline(x)}</li>"
                                                     for x in lines[1:]))
                        if len(lines) > 1 else "")
                items.append(f"<li>{_inline(lines[0])}{told}{rest}</li>")
            out.append('<ul class="stories">{}</ul>'.format("".join(items)))
        elif kind == "timeline":
            out.append(_timeline_html(b[1]))


# -- an explore counterexample as kernel developers draw races ----------------------------

def _timeline_lines(tl):
    from pagecore.verify.timeline import render_timeline

    # a report is read on any screen: a fixed width, not the terminal's of who wrote it
    return render_timeline(tl, 110)


def _state_text(st):
    flags = "|".join(f[3:] for f in st.get("flags", [])) or "-"
    return "{} ref={}{}".format(flags, st.get("refcount"), " free" if st.get("free") else "")


def _timeline_html(tl):
    """One column per CPU, cpu0 first, one row per step (the kernel function it ran and
    the pages' flags and refcounts after it); a failing check right under the step where
    it fired, that step marked."""
    from pagecore.verify.timeline import cpu_order

    esc = html.escape
    cpus = tl.get("cpus") or []
    order = cpu_order(cpus)
    col_of = {t: k for k, t in enumerate(order)}
    out = ['<div class="tl"><table class="timeline"><thead><tr><th>step</th>']
    out += [f"<th>{esc(cpus[t])}</th>" for t in order]
    out.append("<th>state after the step</th></tr></thead><tbody>")
    checks = {}
    for chk in tl.get("checks", []):
        checks.setdefault(chk.get("step"), []).append(chk)
    last_op = {}

    def check_row(chk):
        cells = [""] * len(cpus)
        text = esc(chk.get("text", "")) + (f" ({esc(chk['site'])})" if chk.get("site") else "")
        if chk.get("cpu") in cpus:
            cells[col_of[cpus.index(chk["cpu"])]] = text
        else:
            cells = [text] + [""] * (len(cpus) - 1)
        return '<tr class="fail"><td>!!</td>{}<td>fails in step {}</td></tr>'.format(
            "".join(f"<td>{c}</td>" for c in cells), esc(str(chk.get("step"))))

    for row in tl.get("rows", []):
        t = row.get("task")
        cells = [""] * len(cpus)
        fn, does = row.get("function"), row.get("does", "")
        text = esc("%s: %s" % (fn, does) if fn and not does.startswith(fn)
                   and row.get("point") != "start" else does)
        if last_op.get(t) != row.get("op"):
            last_op[t] = row.get("op")
            text = f"<span class=\"op\">{esc(row.get('op', ''))}</span><br>{text}"
        if isinstance(t, int) and 0 <= t < len(cpus):
            cells[col_of[t]] = text
        state = ("; ".join(f"{esc(k)} {esc(_state_text(v))}"
                           for k, v in row.get("state", {}).items())
                 if row.get("changed") else "")
        mine = checks.pop(row.get("step"), [])
        out.append("<tr{}><td class=\"r\">{}</td>{}<td class=\"st\">{}</td></tr>".format(
            ' class="failstep"' if mine else "", esc(str(row.get("step"))),
            "".join(f"<td>{c}</td>" for c in cells), state))
        out.extend(check_row(chk) for chk in mine)
    for step in list(checks):
        out.extend(check_row(chk) for chk in checks[step])
    for h in tl.get("hang") or []:
        out.append('<tr class="fail"><td></td><td colspan="{}">{}: {}</td></tr>'.format(
            len(cpus) + 1, esc(h.get("cpu", "")), esc("finished" if h.get("done") else
                                                    "blocked at %s" % h.get("at"))))
    out.append("</tbody></table></div>")
    return "".join(out)

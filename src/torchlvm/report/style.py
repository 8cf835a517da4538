"""The report's inline stylesheet: one CSS string, no web fonts, no scripts.

Figures open full-window through the CSS ``:target`` selector (a link to the figure's own id), so
enlarging an image needs no JavaScript; image grids are enlarged with ``image-rendering:
pixelated`` so their pixels stay square.

Nothing makes the page wider than the screen, down to a phone's 400 CSS pixels (checked in
headless Chromium by ``tests/report/test_browser.py``): names, paths and values without spaces
break where they must, figures shrink to the column, and on narrow screens the side-by-side
tables (``table.stack``) stack their runs' columns: each row's label, then one line per run with
the run's name beside its value (below it, where both do not fit: ``data-run``), so every value
is on screen and the runs still compare line under line. Where that happens depends on how many
runs there are (:func:`stacked_below`). A run's metric tables stack the same way on a phone
(label, value, what it is); other wide tables scroll sideways inside themselves. Table columns
are fixed (a label column, then equal shares), so no word or number is broken where it fits
(checked in Chromium too); only a name or path wider than its column breaks.
"""

CSS = """
:root { --ink: #1f2430; --muted: #5f6b7a; --faint: #8a94a3; --line: #dfe3ea; --soft: #f5f7fa;
        --accent: #2f5d9e; --card: #f3f6fb; --warn-bg: #fff6e0; --warn-line: #e8b949; }
* { box-sizing: border-box; }
html { scroll-behavior: smooth; }
body { margin: 0; background: #fff; color: var(--ink);
       font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
             sans-serif; }
main { max-width: 1120px; margin: 0 auto; padding: 28px 28px 56px; }
h1, h2, h3, h4 { line-height: 1.25; margin: 1.5em 0 0.5em; overflow-wrap: anywhere; }
h1 { font-size: 2rem; margin: 0.1em 0 0.1em; }
h2 { font-size: 1.4rem; border-bottom: 1px solid var(--line); padding-bottom: 0.25em; }
h3 { font-size: 1.12rem; }
h4 { font-size: 1rem; }
a { color: var(--accent); }
.eyebrow { text-transform: uppercase; letter-spacing: 0.08em; font-size: 0.75rem;
           color: var(--muted); margin: 0; }
.subtitle { color: var(--muted); font-size: 1rem; margin: 0.1em 0 0.9em;
            overflow-wrap: anywhere; }
code, pre, .key { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; }

/* run facts: small labelled chips */
dl.facts { display: flex; flex-wrap: wrap; gap: 6px 22px; margin: 0 0 1.2em; padding: 0; }
dl.facts div { min-width: 0; }
dl.facts dt { color: var(--faint); font-size: 0.72rem; text-transform: uppercase;
              letter-spacing: 0.05em; }
dl.facts dd { margin: 0; font-size: 0.92rem; overflow-wrap: anywhere; }

/* headline cards */
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(205px, 1fr));
         gap: 12px; margin: 0.4em 0 0.6em; }
.card { background: var(--card); border: 1px solid #e3e9f3; border-radius: 10px;
        padding: 12px 14px 11px; min-width: 0; }
.card .label { color: var(--muted); font-size: 0.8rem; font-weight: 600; letter-spacing: 0.02em; }
.card .value { font-size: 1.65rem; font-weight: 650; line-height: 1.2; margin-top: 2px;
               font-variant-numeric: tabular-nums; color: var(--ink); white-space: nowrap; }
.pm { font-size: 0.95rem; font-weight: 500; color: var(--muted); }
.card .unit { font-size: 0.82rem; color: var(--accent); }
.card .note, .side .note { font-size: 0.76rem; color: var(--muted); margin-top: 4px;
                           line-height: 1.35; }
.card.wide { grid-column: span 2; }
table.mini { width: auto; margin: 4px 0 2px; font-size: 0.86rem; }
table.mini th, table.mini td { padding: 1px 12px 1px 0; border: 0; background: none; }
table.mini th { color: var(--muted); font-weight: 500; font-size: 0.74rem; white-space: nowrap; }
table.mini td { font-variant-numeric: tabular-nums; font-weight: 600; }
table.mini td:first-child { font-weight: 400; color: var(--muted); }
p.missing { color: var(--muted); font-size: 0.85rem; margin: 0.2em 0 0; }
.notes { background: var(--warn-bg); border-left: 4px solid var(--warn-line);
         padding: 8px 16px; border-radius: 4px; margin: 1.2em 0; font-size: 0.92rem; }
.notes h3, .notes h4 { margin: 0.3em 0; font-size: 0.95rem; }
.notes ul { margin: 0.3em 0 0.4em; padding-left: 1.2em; }

/* figures: a two-column grid, wide strips across both columns */
.figs { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 18px 22px;
        align-items: start; }
.figs .fig.wide { grid-column: 1 / -1; }
@media (max-width: 760px) { .figs { grid-template-columns: 1fr; }
                            .card.wide { grid-column: auto; } }
figure { margin: 0; text-align: center; }
figure img { max-width: 100%; height: auto; border: 1px solid var(--line); border-radius: 4px;
             background: #fff; }
figure a.zoom { display: inline-block; max-width: 100%; cursor: zoom-in; }
figcaption { color: var(--muted); font-size: 0.85rem; margin: 0.35em auto 0; max-width: 820px;
             text-align: left; line-height: 1.4; }
figcaption b { color: var(--ink); }
figcaption .key { font-size: 0.75rem; color: var(--faint); }
.fig .close, .fig .short { display: none; }
.thumbs { display: flex; flex-wrap: wrap; gap: 14px; align-items: center; }
.thumbs .fig img { max-height: 190px; max-width: 360px; width: auto; height: auto; }
.thumbs .fig .long { display: none; }
.thumbs .fig .short { display: inline; }
.thumbs figcaption { text-align: center; }
.fig:target { position: fixed; inset: 0; z-index: 10; margin: 0; padding: 3vh 3vw 2vh;
              background: rgba(16, 19, 26, 0.94); display: flex; flex-direction: column;
              align-items: center; justify-content: center; }
.fig:target a.zoom { cursor: default; }
.thumbs .fig:target img, .fig:target img { width: 94vw; height: 84vh; max-width: none;
                                           max-height: none; object-fit: contain; border: 0;
                                           background: none; }
.fig:target img.pixels { image-rendering: pixelated; }
.fig:target figcaption { color: #e6e9ef; max-width: 900px; }
.fig:target figcaption b, .fig:target figcaption .key { color: #fff; }
.thumbs .fig:target .long { display: inline; }
.thumbs .fig:target .short { display: none; }
.fig:target .close { display: block; position: absolute; top: 6px; right: 22px; color: #fff;
                     font-size: 2.4rem; line-height: 1; text-decoration: none; }

/* detailed metrics */
details { border-radius: 8px; }
details.section { border: 1px solid var(--line); margin: 0 0 10px; padding: 0 12px; }
details.section > summary { padding: 8px 0; }
details.section[open] > summary { border-bottom: 1px solid var(--line); }
summary { cursor: pointer; font-weight: 600; }
summary h3, summary h4 { display: inline; margin: 0; font-size: 1rem; }
summary .count { color: var(--faint); font-weight: 400; font-size: 0.8rem; margin-left: 0.5em; }
details.block { background: var(--soft); padding: 8px 14px; margin: 0 0 10px; }
table { border-collapse: collapse; width: 100%; margin: 0.3em 0 0.6em; font-size: 0.88rem; }
/* fixed columns: a cell's long name or path breaks inside its column, never squeezing another
   column's words into pieces (userM #9: the side-by-side table's labels were left a few letters
   wide, their words broken) */
table.metrics, table.side, table.stack { table-layout: fixed; }
table.side > thead th:first-child, table.stack > thead th:first-child { width: 11.5em; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line);
         vertical-align: top; overflow-wrap: anywhere; }
thead th { font-weight: 600; color: var(--muted); font-size: 0.78rem; }
tbody tr:last-child td { border-bottom: 0; }
td.num { font-variant-numeric: tabular-nums; overflow-wrap: anywhere; }
td.num .unit, td.num .also { color: var(--muted); font-size: 0.82em; }
td.num .also { display: block; }
td.prose { color: var(--muted); font-size: 0.84rem; }
td.details { color: var(--muted); font-size: 0.82rem; overflow-wrap: anywhere; }
td.details .note { display: block; color: var(--faint); font-size: 0.95em; }
.key { display: block; color: var(--faint); font-size: 0.7rem; overflow-wrap: anywhere; }
tr.group th { background: #eef2f8; color: var(--accent); font-weight: 600; font-size: 0.8rem; }
table.side th.run { font-size: 0.95rem; color: var(--ink); overflow-wrap: anywhere; }
table.side th.run .sub { display: block; color: var(--muted); font-weight: 400;
                         font-size: 0.75rem; }
table.side td { font-size: 0.9rem; }
table.side td .v { font-weight: 650; font-size: 1.05rem; font-variant-numeric: tabular-nums; }
table.side td .unit { color: var(--accent); font-size: 0.78rem; }
table.side td.label { color: var(--muted); font-weight: 600; }
pre { overflow-x: auto; font-size: 0.82rem; line-height: 1.45; margin: 0.6em 0 0.2em; }
section.run { margin-top: 3.2em; padding-top: 0.4em; border-top: 3px solid var(--line); }
section.run h2 { border: 0; margin-top: 0.4em; }
/* phones: less margin; side-by-side tables stack their runs, a single run's wide tables scroll
   inside themselves, never the page */
@media (max-width: 600px) {
  main { padding: 16px 14px 40px; }
  h1 { font-size: 1.6rem; }
  details.block table:not(.stack) { display: block; overflow-x: auto; }
  /* a metric's label, then its value, then what it is, each a full line: in three columns
     a third of a phone wide, a value's unit broke in two (userM #9) */
  table.metrics, table.metrics > tbody, table.metrics > tbody > tr,
  table.metrics > tbody > tr > td { display: block; width: auto; }
  table.metrics > colgroup, table.metrics > thead { display: none; }
  table.metrics > tbody > tr { border-bottom: 1px solid var(--line); padding: 4px 0; }
  table.metrics > tbody > tr > td { border: 0; padding: 1px 0; }
  table.metrics > tbody > tr > td:first-child { font-weight: 600; }
}
footer { margin-top: 3em; color: var(--muted); font-size: 0.82rem;
         border-top: 1px solid var(--line); padding-top: 0.8em; }
"""

#: CSS pixels: the screen width a side-by-side table of n runs needs is about BASE_PX + n ×
#: RUN_COLUMN_PX (the row labels' column and the page's margins, then a column per run, which
#: the outlier-AUROC grid keeps from narrowing); measured in headless Chromium without stacking,
#: 2, 3 and 4 runs fit from 548, 771 and 985 px, and rounded up; the page is at most PAGE_PX wide
RUN_COLUMN_PX = 230
BASE_PX = 120
PAGE_PX = 1120

STACKED = """
table.stack, table.stack > tbody, table.stack > tbody > tr { display: block; }
table.stack > thead { display: none; }  /* each value names its run instead */
table.stack > tbody > tr { border-bottom: 1px solid var(--line); padding: 2px 0 6px; }
table.stack > tbody > tr > td, table.stack > tbody > tr > th { display: block; border: 0;
                                                               padding: 2px 0; }
table.stack > tbody > tr > td.label { width: auto; color: var(--ink); font-weight: 600;
                                      padding-top: 6px; }
/* the run's name, then its value beside it where both fit, else below it: a long name in a
   narrow column of its own read one hyphen-piece a line, seven lines a value (userM #9) */
table.stack > tbody > tr > td[data-run] { display: flex; flex-wrap: wrap; gap: 0 10px; }
table.stack td[data-run]::before { content: attr(data-run); color: var(--muted);
                                   font-size: 0.78rem; font-weight: 600; padding-top: 0.15em;
                                   flex: 0 1 auto; min-width: 5.5em; overflow-wrap: anywhere; }
table.stack td[data-run] > div { flex: 1 1 12em; min-width: 0; }
table.stack > tbody > tr.group > th { padding: 3px 6px; }
"""


def stacked_below(runs: int) -> str:
    """The CSS that stacks the side-by-side tables of ``runs`` runs on a screen too narrow for
    their columns (a media query at the width they need), or always when even the widest page
    is (five runs or more)."""
    needed = BASE_PX + runs * RUN_COLUMN_PX
    if needed > PAGE_PX:
        return STACKED
    return f"@media (max-width: {needed}px) {{{STACKED}}}"

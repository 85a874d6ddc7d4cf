"""The companion site: the committed executed notebooks as static HTML pages, built offline.

``make site`` runs ``python -m coordlib.pipeline.site``, which writes ``build/site/`` (open
``build/site/index.html``) from what the repository already holds, re-running nothing:

- ``index.html``: the claims ledger (``data/tables/claims.csv``, written by notebook 12 from
  MODEL.md section 7's rules): a verdict summary line, then claim and verdict first, short
  evidence linked to the notebook section that holds it; the rule and the full evidence fold out;
- ``gallery.html``: every figure of ``figures/``, captioned from the notebook that draws it
  (the manifest names the notebook; the caption is that notebook's section title and the first
  sentence of the section's prose);
- ``execution.html``: each notebook's last run from ``data/provenance/`` (time, machine, code
  version, profile) and the run times of ``data/benchmarks/reproduce.csv``;
- ``model.html``: MODEL.md;
- ``notebooks/<name>.html``: each executed notebook, its inputs and outputs as committed.

Maths (``$...$`` and ``$$...$$`` in Markdown) becomes MathML at build time (latex2mathml), which
browsers render natively: the pages load no script, font or style from the network. The build
exits non-zero when something could not be rendered (a formula, a figure without a notebook), as
``make docs`` does, so CI keeps the site whole.
"""
from __future__ import annotations

import base64
import csv
import html
import json
import re
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

import jinja2
import mistune
from markupsafe import Markup
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import PythonLexer

from ..common.files import REPO_DIR, atomic_write_text
from ..common.help import folder_build_command
from .reproduce import MANIFEST, NOTEBOOK_DIR, Entry, load_manifest

DEFAULT_OUT = REPO_DIR / "build" / "site"

VERDICT_ORDER = ("supported", "partly", "not supported", "not yet measured")
"""The ledger's verdicts in the order the summary line counts them (those of
``coordlib.experiments.claims.VERDICTS``, a higher layer than this one; a test keeps them equal)."""

SHORT_EVIDENCE_CHARS = 200
"""Longest evidence shown in the ledger's table; the whole evidence folds out below it."""

CAPTION_SENTENCE_CHARS = 300
"""Longest first sentence of prose taken into a figure caption."""

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_CLAIM_ID = re.compile(r"^C\d+$")


class SiteError(ValueError):
    """A missing or malformed input of the site (named in the message)."""


@dataclass(frozen=True)
class Sources:
    """Where the site's inputs are; by default, the repository's committed files."""

    executed: Path = NOTEBOOK_DIR / "executed"
    manifest: Path = MANIFEST
    figures: Path = REPO_DIR / "figures"
    claims: Path = REPO_DIR / "data" / "tables" / "claims.csv"
    provenance: Path = REPO_DIR / "data" / "provenance"
    run_times: Path = REPO_DIR / "data" / "benchmarks" / "reproduce.csv"
    model: Path = REPO_DIR / "MODEL.md"


# --- Markdown with maths --------------------------------------------------------------------

def slug(text: str) -> str:
    """An HTML id from a heading's text: lower case, words joined by hyphens."""
    plain = re.sub(r"<[^>]+>", "", html.unescape(text)).lower()
    return re.sub(r"[^a-z0-9]+", "-", plain).strip("-") or "section"


def mathml(latex: str, display: bool, problems: list) -> str:
    """MathML of a TeX formula; the formula as code (and a line in ``problems``) when
    latex2mathml cannot read it."""
    # deferred: latex2mathml is the optional extra [site]
    from latex2mathml.converter import convert
    try:
        return convert(latex.strip(), display="block" if display else "inline")
    except Exception as exc:   # latex2mathml raises many types on TeX it does not know
        problems.append(f"maths not rendered ({type(exc).__name__}): {latex.strip()[:80]}")
        return f"<code>{html.escape(latex)}</code>"


@dataclass
class Heading:
    """A heading of a rendered page: its level, its text (HTML) and its id."""

    level: int
    text: str
    id: str


class Markdown:
    """Markdown to HTML (mistune) with headings that carry unique ids and maths as MathML.

    One instance renders one page, so ids stay unique on it; ``headings`` collects them."""

    def __init__(self, problems: list):
        self.headings: list[Heading] = []
        self.problems = problems
        markdown = self

        class Renderer(mistune.HTMLRenderer):
            def heading(self, text, level, **attrs):
                return markdown._heading(text, level)

        self._md = mistune.create_markdown(renderer=Renderer(escape=False),
                                           plugins=["math", "table", "strikethrough"])
        self._md.renderer.register(
            "block_math", lambda _r, text: mathml(text, True, self.problems) + "\n")
        self._md.renderer.register(
            "inline_math", lambda _r, text: mathml(text, False, self.problems))

    def _heading(self, text: str, level: int) -> str:
        ids = {h.id for h in self.headings}
        base = anchor = slug(text)
        n = 1
        while anchor in ids:
            n += 1
            anchor = f"{base}-{n}"
        self.headings.append(Heading(level, text, anchor))
        return f'<h{level} id="{anchor}">{text}</h{level}>\n'

    def __call__(self, text: str) -> str:
        return self._md(text)


def first_sentence(text: str, limit: int = CAPTION_SENTENCE_CHARS) -> str:
    """The first sentence of the first paragraph of ``text`` that is not a heading, at most
    ``limit`` characters (cut at a word, with an ellipsis)."""
    text = "\n".join("" if line.lstrip().startswith("#") else line for line in text.splitlines())
    for paragraph in re.split(r"\n\s*\n", text):
        paragraph = " ".join(paragraph.split())
        if not paragraph or paragraph.startswith(("|", "```", "$$", "<")):
            continue
        m = re.match(r"(.+?[.!?])(\s+[A-Z(`*$]|$)", paragraph)
        return shorten(m.group(1) if m else paragraph, limit)
    return ""


def shorten(text: str, limit: int) -> str:
    """``text`` cut at the last word that fits ``limit`` characters, with an ellipsis."""
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0].rstrip(",;:") + " …"


# --- notebooks --------------------------------------------------------------------------------

@dataclass
class NotebookPage:
    """One executed notebook: its rendered body, its headings and where each cell sits."""

    entry: Entry
    href: str
    body: str
    headings: list
    cell_section: list
    """The id of the heading each cell falls under (the page's first heading before any)."""
    cells: list
    images: dict = field(default_factory=dict)
    """File name in the site -> PNG bytes of the page's image outputs."""

    def section_of(self, index: int) -> str:
        return self.cell_section[index] if self.cell_section else ""

    def section_title(self, anchor: str) -> str:
        return next((h.text for h in self.headings if h.id == anchor), self.entry.title)

    def section_prose(self, anchor: str) -> str:
        """The Markdown of the cells under heading ``anchor``, joined."""
        return "\n\n".join(_source(c) for i, c in enumerate(self.cells)
                           if c.get("cell_type") == "markdown" and self.cell_section[i] == anchor)


def _source(cell: dict) -> str:
    s = cell.get("source", "")
    return "".join(s) if isinstance(s, list) else s


def _text(value) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def _link_targets(markup: str) -> str:
    """Links between notebooks and to MODEL.md as links between the site's pages."""
    markup = re.sub(r'href="(?:\./)?([\w.-]+)\.ipynb(#[^"]*)?"', r'href="\1.html\2"', markup)
    return re.sub(r'href="(?:\.\./)?MODEL\.md(#[^"]*)?"', r'href="../model.html\1"', markup)


def _highlight(code: str) -> str:
    return highlight(code, PythonLexer(), HtmlFormatter(cssclass="highlight"))


def _output_html(output: dict, md: Markdown, image_name: str, images: dict) -> str:
    kind = output.get("output_type")
    if kind == "stream":
        text = html.escape(_ANSI.sub("", _text(output.get("text", ""))))
        return f'<pre class="stream {output.get("name", "stdout")}">{text}</pre>'
    if kind == "error":
        trace = _ANSI.sub("", "\n".join(output.get("traceback", [])))
        return f'<pre class="error">{html.escape(trace)}</pre>'
    data = output.get("data", {})
    if "image/png" in data:
        images[image_name] = base64.b64decode(_text(data["image/png"]))
        alt = html.escape(_text(data.get("text/plain", "figure")))
        return f'<img src="img/{image_name}" alt="{alt}">'
    if "text/html" in data:
        return f'<div class="html-output">{_link_targets(_text(data["text/html"]))}</div>'
    if "text/markdown" in data:
        return f'<div class="markdown-output">{_link_targets(md(_text(data["text/markdown"])))}</div>'
    if "text/latex" in data:
        latex = _text(data["text/latex"]).strip().strip("$")
        return f'<div class="math-output">{mathml(latex, True, md.problems)}</div>'
    if "text/plain" in data:
        return f'<pre class="text-output">{html.escape(_text(data["text/plain"]))}</pre>'
    return ""


def render_notebook(path: Path, entry: Entry, problems: list) -> NotebookPage:
    """The page of one executed notebook (its inputs and outputs as committed, re-running
    nothing)."""
    try:
        nb = json.loads(path.read_text())
        cells = nb["cells"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise SiteError(f"executed notebook {path} unreadable: {exc}") from None
    md = Markdown(problems)
    stem = Path(entry.path).stem
    parts, sections, images = [], [], {}
    for i, cell in enumerate(cells):
        source = _source(cell)
        if cell.get("cell_type") == "markdown":
            parts.append(f'<div class="cell markdown">{_link_targets(md(source))}</div>')
        elif cell.get("cell_type") == "code":
            first = html.escape(source.strip().splitlines()[0]) if source.strip() else ""
            outputs = "\n".join(_output_html(o, md, f"{stem}-{i}-{k}.png", images)
                                for k, o in enumerate(cell.get("outputs", [])))
            parts.append(f'<div class="cell code"><details class="source"><summary><code>{first}'
                         f'</code></summary>{_highlight(source)}</details>'
                         f'<div class="outputs">{outputs}</div></div>')
        sections.append(md.headings[-1].id if md.headings else "")
    top = md.headings[0].id if md.headings else ""
    sections = [s or top for s in sections]
    return NotebookPage(entry, f"notebooks/{stem}.html", "\n".join(parts), md.headings,
                        sections, cells, images)


def claim_section(page: NotebookPage, claim: str) -> str:
    """The id of the section of ``page`` that holds ``claim``'s evidence: the last whose prose
    (Markdown, or Markdown a cell printed) names the claim (a notebook states its verdict after
    its numbers), else the last whose title says "verdict", else the page's first heading."""
    for i, cell in reversed(list(enumerate(page.cells))):
        prose = [_source(cell)] if cell.get("cell_type") == "markdown" else [
            _text(o["data"]["text/markdown"]) for o in cell.get("outputs", [])
            if "text/markdown" in o.get("data", {})]
        if any(re.search(rf"\b{claim}\b", text) for text in prose):
            return page.section_of(i)
    verdicts = [h.id for h in page.headings if "verdict" in h.text.lower()]
    if verdicts:
        return verdicts[-1]
    return page.headings[0].id if page.headings else ""


def figure_cell(page: NotebookPage, name: str) -> int | None:
    """The index of the code cell of ``page`` that draws figure ``name`` (its source names it;
    one with an image output first)."""
    hits = [i for i, c in enumerate(page.cells)
            if c.get("cell_type") == "code" and name in _source(c)]
    drawn = [i for i in hits if any("image/png" in o.get("data", {})
                                    for o in page.cells[i].get("outputs", []))]
    return (drawn or hits or [None])[0]


# --- the pages ----------------------------------------------------------------------------------

@dataclass
class Figure:
    """A figure of the gallery: its file name (no suffix), owner notebook and caption."""

    name: str
    notebook: NotebookPage | None
    section: str
    title: str
    sentence: str
    has_pdf: bool


def figures(sources: Sources, pages: list, problems: list) -> list:
    """Every PNG of ``figures/``, in the manifest's order, each with its caption: the title of
    the section that draws it and the first sentence of that section's prose (of the prose after
    the drawing cell when the section has none)."""
    owner = {}
    for page in pages:
        for artifact in page.entry.artifacts:
            if str(artifact).startswith("figures/") and str(artifact).endswith(".png"):
                owner.setdefault(Path(artifact).stem, page)
    found = sorted(p.stem for p in Path(sources.figures).glob("*.png"))
    rank = {name: i for i, name in enumerate(owner)}
    result = []
    for name in sorted(found, key=lambda n: (rank.get(n, len(rank)), n)):
        page = owner.get(name)
        if page is None:
            problems.append(f"figure {name}.png: no notebook of the manifest lists it")
            result.append(Figure(name, None, "", name, "", False))
            continue
        cell = figure_cell(page, name)
        section = page.section_of(cell) if cell is not None else page.section_of(0)
        if cell is None:
            problems.append(f"figure {name}.png: no cell of {page.entry.path} names it")
        following = [_source(c) for c in page.cells[(cell or 0) + 1:]
                     if c.get("cell_type") == "markdown"][:1]
        sentence = first_sentence(page.section_prose(section)) or first_sentence(
            "".join(following))
        result.append(Figure(name, page, section, page.section_title(section), sentence,
                             (Path(sources.figures) / f"{name}.pdf").is_file()))
    return result


def read_claims(path: Path) -> list:
    """The ledger's rows (``claim``, ``abstract``, ``experiments``, ``rule``, ``evidence``,
    ``verdict``)."""
    try:
        with open(path, newline="") as handle:
            rows = list(csv.DictReader(handle))
    except OSError as exc:
        raise SiteError(f"claims ledger unreadable: {exc}") from None
    needed = {"claim", "abstract", "experiments", "rule", "evidence", "verdict"}
    if not rows or needed - set(rows[0]):
        raise SiteError(f"claims ledger {path}: expected the columns {sorted(needed)}")
    for row in rows:
        if not _CLAIM_ID.match(row["claim"]) or row["verdict"] not in VERDICT_ORDER:
            raise SiteError(f"claims ledger {path}: row {row['claim']!r} has verdict "
                            f"{row['verdict']!r}, not one of {list(VERDICT_ORDER)}")
    return rows


def verdict_summary(rows: list) -> str:
    """``"1 supported, 7 partly, 1 not supported"``: the count of each verdict that occurs."""
    counts = [(sum(r["verdict"] == v for r in rows), v) for v in VERDICT_ORDER]
    return ", ".join(f"{n} {v}" for n, v in counts if n)


def read_provenance(folder: Path, entry: Entry) -> dict:
    """The provenance record of ``entry``'s last run (empty when there is none)."""
    path = Path(folder) / f"{entry.id}.json"
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text())
    except ValueError as exc:
        raise SiteError(f"provenance {path} unreadable: {exc}") from None


def read_run_times(path: Path) -> dict:
    """(profile, notebook) -> seconds of the last recorded run (``data/benchmarks/reproduce.csv``)."""
    if not Path(path).is_file():
        return {}
    with open(path, newline="") as handle:
        return {(r["profile"], r["notebook"]): float(r["seconds"]) for r in csv.DictReader(handle)}


def duration(seconds) -> str:
    """``"12.3 s"`` or ``"31 min"``; a dash when unknown."""
    if seconds is None:
        return "–"
    return f"{seconds:.1f} s" if seconds < 120 else f"{seconds / 60:.0f} min"


# --- assembling -------------------------------------------------------------------------------

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 0; color: #1d1d1f; line-height: 1.5; }
header { background: #1f3a5f; color: #fff; padding: .6em 1.5em; }
header a { color: #fff; margin-right: 1.2em; text-decoration: none; }
header nav.notebooks a { font-size: .85em; margin-right: .8em; opacity: .85; }
main { max-width: 70em; margin: 0 auto; padding: 1em 1.5em 3em; }
table { border-collapse: collapse; margin: 1em 0; font-size: .92em; }
th, td { border: 1px solid #ccd; padding: .3em .6em; vertical-align: top; text-align: left; }
th { background: #eef1f6; }
.verdict { font-weight: 600; white-space: nowrap; padding: .1em .5em; border-radius: .3em; }
.verdict-supported { background: #d6f0d6; } .verdict-partly { background: #fdf0c4; }
.verdict-not-supported { background: #f7d4d4; } .verdict-not-yet-measured { background: #e4e4e4; }
.summary { font-size: 1.2em; font-weight: 600; }
figure { margin: 2em 0; } figure img { max-width: 100%; border: 1px solid #dde; }
figcaption { max-width: 60em; }
img { max-width: 100%; }
pre { background: #f6f8fa; padding: .5em; overflow-x: auto; font-size: .85em; }
pre.error { background: #fbe9e9; }
.cell { margin: .8em 0; } .outputs { overflow-x: auto; }
details.source summary { cursor: pointer; color: #555; font-size: .85em; }
.html-output table { font-size: .85em; }
math[display="block"] { margin: .8em 0; }
"""

_LAYOUT = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }} · coordlib</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="{{ root }}style.css">
</head><body>
<header><nav>
<a href="{{ root }}index.html">Claims</a><a href="{{ root }}gallery.html">Figures</a>
<a href="{{ root }}model.html">Model</a><a href="{{ root }}execution.html">Execution</a>
</nav><nav class="notebooks">{% for p in pages %}<a href="{{ root }}{{ p.href }}" title="{{ p.entry.title }}">{{ p.entry.id }}</a>{% endfor %}</nav></header>
<main>
{{ body }}
</main></body></html>
"""

_LEDGER = """<h1 id="claims">The claims ledger</h1>
<p class="summary">{{ summary }}</p>
<p>Each claim of the paper's abstract, the verdict its rule gives on the committed tables, and the
evidence, linked to the notebook section that holds it. The rules are code
(<a href="{{ ledger.href }}">{{ ledger.entry.id }}</a>, MODEL.md section 7); open a row for the
rule and the whole evidence.</p>
<table><thead><tr><th>Claim</th><th>Verdict</th><th>Abstract</th><th>Evidence</th></tr></thead>
<tbody>{% for c in claims %}
<tr id="{{ c.claim }}"><td>{{ c.claim }}</td>
<td><span class="verdict verdict-{{ c.verdict_class }}">{{ c.verdict }}</span></td>
<td>{{ c.abstract }}</td>
<td>{{ c.short }}{% for link in c.links %} <a href="{{ link.href }}">{{ link.label }}</a>{% endfor %}
<details><summary>rule and full evidence</summary><p><b>Rule.</b> {{ c.rule }}</p>
<p><b>Evidence.</b> {{ c.evidence }}</p></details></td></tr>{% endfor %}
</tbody></table>
"""

_GALLERY = """<h1 id="figures">Figures</h1>
<p>Every figure of <code>figures/</code>, as the committed notebooks drew it; each caption is
the section of the notebook that draws it, linked, and the first sentence of its prose.</p>
{% for f in figures %}
<figure id="{{ f.name }}"><img src="figures/{{ f.name }}.png" alt="{{ f.name }}">
<figcaption><b>{{ f.name }}</b>{% if f.notebook %} ({{ f.notebook.entry.id }},
<a href="{{ f.notebook.href }}#{{ f.section }}">{{ f.title }}</a>){% endif %}{% if f.sentence %}: {{ f.sentence }}{% endif %}
{% if f.has_pdf %}<a href="figures/{{ f.name }}.pdf">PDF</a>{% endif %}</figcaption></figure>
{% endfor %}
"""

_EXECUTION = """<h1 id="execution">Execution</h1>
<p>Each notebook's last committed run, from <code>data/provenance/</code>: when it finished,
how long it took, the machine (CPU model and count, operating system, Python and torch; "not
recorded" for a run from before provenance recorded it), the code version (a digest of the
package's source, and the git revision) and the profile. The last column is the notebook's last smoke-profile run
(<code>data/benchmarks/reproduce.csv</code>). The pages show these runs; building the site
re-runs nothing.</p>
<table><thead><tr><th>Notebook</th><th>Title</th><th>Profile</th><th>Finished (UTC)</th>
<th>Took</th><th>Machine</th><th>Code version</th><th>Git revision</th><th>Python</th>
<th>Smoke run</th></tr></thead><tbody>{% for r in rows %}
<tr id="{{ r.id }}"><td><a href="{{ r.href }}">{{ r.id }}</a></td><td>{{ r.title }}</td>
<td>{{ r.profile }}</td><td>{{ r.finished }}</td><td>{{ r.took }}</td><td>{{ r.machine }}</td>
<td><code>{{ r.code_version }}</code></td><td><code>{{ r.git_revision }}</code></td>
<td>{{ r.python }}</td><td>{{ r.smoke }}</td></tr>{% endfor %}
</tbody></table>
"""


def _environment():
    return jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)


def _claim_rows(rows: list, pages: dict, problems: list) -> list:
    out = []
    for row in rows:
        links = []
        for experiment in [e.strip() for e in row["experiments"].split(",") if e.strip()]:
            page = pages.get(experiment)
            if page is None:
                problems.append(f"claim {row['claim']}: no notebook for experiment {experiment}")
                continue
            links.append({"label": f"→ {experiment}",
                          "href": f"{page.href}#{claim_section(page, row['claim'])}"})
        out.append({**row, "verdict_class": slug(row["verdict"]), "links": links,
                    "short": shorten(row["evidence"].split("; ")[0], SHORT_EVIDENCE_CHARS),
                    "abstract": Markup.escape(row["abstract"])})
    return out


def _execution_rows(sources: Sources, pages: list) -> list:
    times = read_run_times(sources.run_times)
    rows = []
    for page in pages:
        record = read_provenance(sources.provenance, page.entry)
        params = record.get("parameters", {})
        torch = record.get("packages", {}).get("torch")
        rows.append({
            "id": page.entry.id, "href": page.href, "title": page.entry.title,
            "profile": params.get("profile", "–"),
            "finished": record.get("finished", "no record").replace("+00:00", "").replace("T", " "),
            "took": duration(record.get("seconds")),
            "machine": record.get("machine") or "not recorded",
            "code_version": record.get("code_version", "–"),
            "git_revision": record.get("git_revision", "–"),
            "python": record.get("python", "–") + (f", torch {torch}" if torch else ""),
            "smoke": duration(times.get(("smoke", page.entry.path)))})
    return rows


def build(out=DEFAULT_OUT, sources: Sources = Sources()) -> list:
    """Write the site into ``out``; the problems met (empty: none). Re-runs no notebook."""
    out = Path(out)
    problems: list[str] = []
    executed = Path(sources.executed)
    if not executed.is_dir():
        raise SiteError(f"executed notebooks not found: {executed} (run `coordlib reproduce`)")
    entries = sorted(load_manifest(sources.manifest), key=lambda e: e.path)
    missing = [e.path for e in entries if not (executed / e.path).is_file()]
    if missing:
        raise SiteError(f"executed notebooks missing from {executed}: {missing}")
    claims = read_claims(sources.claims)
    if out.exists():
        if any(out.iterdir()) and not (out / "style.css").is_file():
            raise SiteError(f"{out} is not empty and holds no site built here: choose a new or "
                            f"empty folder (the build replaces the folder's content)")
        shutil.rmtree(out)
    (out / "notebooks" / "img").mkdir(parents=True)
    (out / "figures").mkdir()

    pages = [render_notebook(executed / e.path, e, problems) for e in entries]
    by_id = {p.entry.id: p for p in pages}
    env = _environment()
    layout = env.from_string(_LAYOUT)

    def write(relative: str, title: str, body: str) -> None:
        root = "../" * relative.count("/")
        atomic_write_text(out / relative, layout.render(title=title, root=root, pages=pages,
                                                        body=Markup(body)))

    for page in pages:
        write(page.href, page.entry.title, page.body)
        for name, data in page.images.items():
            (out / "notebooks" / "img" / name).write_bytes(data)
    ledger_page = next((p for p in pages if p.entry.path.startswith("12_")), pages[-1])
    write("index.html", "Claims", env.from_string(_LEDGER).render(
        summary=verdict_summary(claims), claims=_claim_rows(claims, by_id, problems),
        ledger=ledger_page))
    gallery = figures(sources, pages, problems)
    for f in gallery:
        for suffix in ("png", "pdf") if f.has_pdf else ("png",):
            shutil.copyfile(Path(sources.figures) / f"{f.name}.{suffix}",
                            out / "figures" / f"{f.name}.{suffix}")
    for f in gallery:
        f.title, f.sentence = Markup(f.title), Markup(_inline(f.sentence, problems))
    write("gallery.html", "Figures", env.from_string(_GALLERY).render(figures=gallery))
    write("execution.html", "Execution", env.from_string(_EXECUTION).render(
        rows=_execution_rows(sources, pages)))
    try:
        model = Path(sources.model).read_text()
    except OSError as exc:
        raise SiteError(f"model page unreadable: {exc}") from None
    write("model.html", "Model", Markdown(problems)(model))
    atomic_write_text(out / "style.css",
                      _STYLE + HtmlFormatter(cssclass="highlight").get_style_defs(".highlight"))
    return problems


def _inline(text: str, problems: list) -> str:
    """Markdown of one sentence as inline HTML (no paragraph around it)."""
    rendered = Markdown(problems)(text).strip()
    return re.sub(r"^<p>(.*)</p>$", r"\1", rendered, flags=re.S)


def main(argv=None) -> int:
    return folder_build_command(argv, "python -m coordlib.pipeline.site",
                                "Build the companion site from the committed executed notebooks "
                                "(re-runs none).", DEFAULT_OUT, build, "site", "site",
                                errors=(SiteError,))


if __name__ == "__main__":
    sys.exit(main())

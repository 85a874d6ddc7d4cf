"""The companion site (coordlib.pipeline.site): built from the committed files, each page holds
what it promises, and in headless Chromium every page loads, every figure renders, every internal
link resolves and nothing is reported to the console."""
import csv
import json
import re
import shutil
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

pytest.importorskip("latex2mathml", reason="the site needs the extra [site]: make site")

from coordlib.experiments.claims import VERDICTS  # noqa: E402
from coordlib.pipeline import site  # noqa: E402
from coordlib.pipeline.reproduce import load_manifest  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")


class Page(HTMLParser):
    """The ids, links, image sources and table rows of one HTML page."""

    def __init__(self, path: Path):
        super().__init__()
        self.ids, self.links, self.images, self.rows, self.external = set(), [], [], {}, []
        self._row = None
        self.feed(path.read_text())

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag == "tr" and "id" in attrs:
            self._row = attrs["id"]
            self.rows[self._row] = ""
        for key in ("href", "src"):
            value = attrs.get(key) or ""
            if value.startswith(("http:", "https:", "//")):
                self.external.append(value)
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])
        if tag in ("img", "script", "link") and (attrs.get("src") or attrs.get("href")):
            self.images.append(attrs.get("src") or attrs.get("href"))

    def handle_endtag(self, tag):
        if tag == "tr":
            self._row = None

    def handle_data(self, data):
        if self._row:
            self.rows[self._row] += data


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("site")
    assert site.build(out) == []
    return out


def pages_of(out: Path) -> list:
    return sorted(out.rglob("*.html"))


def test_ledger_page_lists_every_claim_with_its_verdict_and_the_summary_line(built):
    with open(ROOT / "data" / "tables" / "claims.csv", newline="") as handle:
        claims = list(csv.DictReader(handle))
    page = Page(built / "index.html")
    assert set(page.rows) == {c["claim"] for c in claims}
    for claim in claims:
        # the verdict comes right after the claim's id, before the abstract and the evidence
        assert page.rows[claim["claim"]].split()[:1 + len(claim["verdict"].split())] == \
            [claim["claim"], *claim["verdict"].split()]
    counts = Counter(c["verdict"] for c in claims)
    summary = ", ".join(f"{counts[v]} {v}" for v in VERDICTS if counts[v])
    assert f'<p class="summary">{summary}</p>' in (built / "index.html").read_text()


def test_every_claim_links_to_a_section_of_each_notebook_that_tests_it(built):
    entries = {e.id: e for e in load_manifest()}
    page = Page(built / "index.html")
    with open(ROOT / "data" / "tables" / "claims.csv", newline="") as handle:
        for claim in csv.DictReader(handle):
            for experiment in claim["experiments"].split(", "):
                stem = Path(entries[experiment].path).stem
                assert any(link.startswith(f"notebooks/{stem}.html#") for link in page.links), \
                    (claim["claim"], experiment)


def test_a_claim_links_to_the_last_section_naming_it_else_the_verdict_section(tmp_path):
    def markdown(text):
        return {"cell_type": "markdown", "source": text}
    printed = {"cell_type": "code", "source": "show()", "outputs": [
        {"output_type": "display_data", "data": {"text/markdown": "**C2: partly**"}}]}
    cells = [markdown("# Title\nC2 is tested here."), markdown("## Numbers"), printed,
             markdown("## The verdict\nSee above.")]
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4,
                                "nbformat_minor": 5}))
    entry = load_manifest()[0]
    page = site.render_notebook(path, entry, [])
    assert [h.id for h in page.headings] == ["title", "numbers", "the-verdict"]
    assert site.claim_section(page, "C2") == "numbers"      # the printed verdict, not the intro
    assert site.claim_section(page, "C5") == "the-verdict"


def test_gallery_shows_every_figure_once_with_a_caption_linked_to_its_notebook(built):
    text = (built / "gallery.html").read_text()
    for png in sorted((ROOT / "figures").glob("*.png")):
        assert text.count(f'<figure id="{png.stem}">') == 1, png.name
        caption = text.split(f'<figure id="{png.stem}">')[1].split("</figcaption>")[0]
        assert 'href="notebooks/' in caption, png.name
        assert (built / "figures" / png.name).read_bytes() == png.read_bytes()


def test_execution_page_lists_every_notebook_with_its_provenance(built):
    page = Page(built / "execution.html")
    for entry in load_manifest():
        record = json.loads((ROOT / "data" / "provenance" / f"{entry.id}.json").read_text())
        row = page.rows[entry.id]
        assert record["code_version"] in row and record["parameters"]["profile"] in row
        assert record["finished"][:10] in row    # the date of the last run


def test_every_claim_anchor_the_markdown_ledgers_link_to_is_a_row_of_the_sites_ledger(built):
    # claims.md links each claim to its full text by the claim's id, README.md and RESULTS.md to
    # claims.md#id: the site's ledger holds each claim's full text under the same id
    ids = Page(built / "index.html").ids
    claims_md = (ROOT / "data" / "tables" / "claims.md").read_text()
    targets = {name: re.findall(rf"\]\({re.escape(prefix)}#([^)\s]+)\)", (ROOT / name).read_text())
               for name, prefix in (("data/tables/claims.md", ""),
                                    ("README.md", "data/tables/claims.md"),
                                    ("RESULTS.md", "data/tables/claims.md"))}
    anchors = re.findall(r'<a id="([^"]+)"></a>', claims_md)
    ledger = [row["claim"] for row in csv.DictReader((ROOT / "data" / "tables" / "claims.csv").open())]
    for name, found in targets.items():
        assert sorted(set(found)) == sorted(ledger), name
        assert set(found) <= set(anchors) and set(found) <= ids, name
    for claim in ledger:                                  # the site's row holds the full text
        row = Page(built / "index.html").rows[claim]
        assert "Rule." in row and "Evidence." in row


def test_execution_page_shows_the_machine_a_run_recorded_and_says_when_none_is(tmp_path):
    from coordlib.pipeline.results import provenance

    folder = tmp_path / "provenance"
    shutil.copytree(ROOT / "data" / "provenance", folder)
    record = json.loads((folder / "E0.json").read_text())
    record.pop("machine", None)
    (folder / "E1.json").write_text(json.dumps(record))        # a record from before machines
    record.update(provenance(record["parameters"]))           # what reproduce writes now
    (folder / "E0.json").write_text(json.dumps(record))
    assert site.build(tmp_path / "site", site.Sources(provenance=folder)) == []
    rows = Page(tmp_path / "site" / "execution.html").rows
    assert record["machine"] and record["machine"] in rows["E0"]
    assert "not recorded" in rows["E1"] and "not recorded" not in rows["E0"]


def test_every_internal_link_names_a_file_and_an_id_that_exist(built):
    ids = {path: Page(path).ids for path in pages_of(built)}
    for path in ids:
        page = Page(path)
        assert page.external == [], (path.name, page.external)
        for target in page.links + page.images:
            parts = urlsplit(target)
            if parts.scheme == "data":
                continue
            file = (path.parent / unquote(parts.path)).resolve() if parts.path else path
            assert file.is_file(), (path.name, target)
            if parts.fragment:
                assert parts.fragment in ids[file], (path.name, target)


def test_maths_in_dollars_becomes_mathml_and_plain_text_stays_plain(tmp_path):
    model = tmp_path / "MODEL.md"
    model.write_text("# Model\n\nInline $x_{n+1} = x_n + a_n$ and plain x_{n+1}.\n\n"
                     "$$\n\\sum_{i=1}^N p_i s_i\n$$\n")
    out = tmp_path / "site"
    assert site.build(out, site.Sources(model=model)) == []
    text = (out / "model.html").read_text()
    assert text.count("<math") == 2 and 'display="block"' in text
    assert "plain x_{n+1}." in text and "$" not in text.split("<main>")[1]


def test_a_formula_that_cannot_be_rendered_is_reported(tmp_path):
    model = tmp_path / "MODEL.md"
    model.write_text("Broken: $\\frac{1}{$ here.\n")
    problems = site.build(tmp_path / "site", site.Sources(model=model))
    assert len(problems) == 1 and problems[0].startswith("maths not rendered")


def test_the_same_inputs_give_the_same_site_byte_for_byte(built, tmp_path):
    site.build(tmp_path)
    files = sorted(p.relative_to(built) for p in built.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    assert all((built / f).read_bytes() == (tmp_path / f).read_bytes() for f in files)


def test_missing_inputs_are_named_in_one_line(tmp_path):
    with pytest.raises(site.SiteError, match="executed notebooks not found: .*nowhere"):
        site.build(tmp_path / "out", site.Sources(executed=tmp_path / "nowhere"))
    (tmp_path / "keep.txt").write_text("not a site")
    with pytest.raises(site.SiteError, match="is not empty and holds no site built here"):
        site.build(tmp_path)
    assert (tmp_path / "keep.txt").is_file()
    bad = tmp_path / "claims.csv"
    bad.write_text("claim,abstract,experiments,rule,evidence,verdict\nC1,a,E1,r,e,maybe\n")
    with pytest.raises(site.SiteError, match="'C1' has verdict 'maybe'"):
        site.build(tmp_path / "out", site.Sources(claims=bad))


def test_the_summary_counts_verdicts_in_the_ledgers_order():
    assert site.VERDICT_ORDER == VERDICTS
    rows = [{"verdict": v} for v in ("partly", "supported", "partly", "not supported")]
    assert site.verdict_summary(rows) == "1 supported, 2 partly, 1 not supported"


# --- in a real browser ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def browser():
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip("headless Chromium not found: install Debian's chromium and chromium-driver "
                    "(apt-get install chromium chromium-driver) to run the browser test")
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium: the extra [site]")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--window-size=1280,1000"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=webdriver.ChromeService(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


def test_in_chromium_every_page_loads_every_image_renders_and_every_link_resolves(built, browser):
    ids, links, broken = {}, [], []
    for path in pages_of(built):
        browser.get(path.as_uri())
        # wait for the load event (images included): the driver's own script timeout applies
        browser.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "if (document.readyState === 'complete') done();"
            "else window.addEventListener('load', () => done());")
        assert browser.find_element("tag name", "main").text.strip(), path.name
        images = browser.execute_script(
            "return Array.from(document.images, i => [i.src, i.complete && i.naturalWidth]);")
        broken += [(path.name, src) for src, width in images if not width]
        ids[path.as_uri()] = set(browser.execute_script(
            "return Array.from(document.querySelectorAll('[id]'), e => e.id);"))
        links += [(path.name, href) for href in browser.execute_script(
            "return Array.from(document.links, a => a.href);")]
        severe = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
        assert severe == [], (path.name, severe)
    assert broken == []
    for page, href in links:
        parts = urlsplit(href)
        assert parts.scheme == "file", (page, href)     # nothing leaves the site
        target = parts._replace(fragment="").geturl()
        assert Path(unquote(parts.path)).is_file(), (page, href)
        if parts.fragment:
            assert parts.fragment in ids[target], (page, href)


def test_in_chromium_the_landing_page_screenshot_is_not_blank(built, browser, tmp_path):
    # deferred: pillow comes with matplotlib
    from PIL import Image

    browser.get((built / "index.html").as_uri())
    shot = tmp_path / "index.png"
    assert browser.save_screenshot(str(shot))
    image = Image.open(shot).convert("RGB")
    colours = image.getcolors(maxcolors=image.width * image.height)
    most = max(count for count, _ in colours)
    # a blank page is one colour; the ledger has a header bar, text and coloured verdicts
    assert len(colours) > 50 and most < 0.95 * image.width * image.height
    assert "supported" in browser.find_element("css selector", "p.summary").text

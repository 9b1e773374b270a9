"""The report and the comparison page in a real browser: headless Chromium over the DevTools protocol.

Skipped, with the reason, only when chromium is not installed and this is not CI; in CI (`CI` set) a missing
chromium fails the test (`.ci/run` installs Debian's package).
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest

from harness.labels import CriterionLabel, PairwiseLabel, read_labels
from harness.report import write_report
from harness.report.casedata import decode_embedded
from tests.helpers.chromium import Chromium, chromium_path, in_ci
from tests.helpers.synthetic_results import synthetic_results

READY = "document.documentElement.getAttribute('data-cases-ready')"
ROWS = "document.querySelectorAll('#cb-table tbody tr').length"
EVERY_PLOT = ("forest", "speed", "cost", "axes", "winrate", "ratings", "judge", "quantization", "loss")


@pytest.fixture(scope="module")
def browser():
    if chromium_path() is None:
        if in_ci():
            pytest.fail("chromium is not installed, and CI must run the browser test (.ci/run installs it)")
        pytest.skip("chromium is not installed (apt-get install -y chromium); CI runs this test")
    with Chromium(timeout_s=10) as chromium:
        yield chromium


def _manifest(folder: Path) -> Path:
    """A recipe's manifest with its loss curve, as the SFT recipe writes them."""
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "loss.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["step", "loss"])
        writer.writerows([(step, 2.5 * 0.95 ** step) for step in range(1, 41)])
    manifest = {"recipe": "sft", "model_id": "sft-135m", "steps": 40, "outputs": {"loss_csv": "loss.csv"},
                "held_out_answer_loss": {"before": 2.4, "after": 1.1}}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder / "manifest.json"


@pytest.fixture(scope="module")
def small_report(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("report")
    return write_report(synthetic_results(3, 12), root / "run", training_manifests=[_manifest(root / "sft")])


def _set(browser: Chromium, control: str, value, event: str = "change") -> None:
    """Set a control of the page as a person would, and fire its event."""
    prop = "checked" if isinstance(value, bool) else "value"
    browser.evaluate(f"(() => {{ const c = document.getElementById({json.dumps(control)}); c.{prop} = {json.dumps(value)};"
                     f" c.dispatchEvent(new Event({json.dumps(event)})); }})()")


def _shown(browser: Chromium) -> list[str]:
    return browser.evaluate("[...document.querySelectorAll('#cb-table tbody tr')].map(r => r.dataset.case)")


def _open(browser: Chromium, page: Path) -> None:
    browser.events.clear()
    browser.call("Emulation.setScriptExecutionDisabled", {"value": False})
    browser.offline()
    browser.open(page, ready=READY)


def test_report_opens_offline_with_every_plot_and_no_console_error(browser, small_report):
    _open(browser, small_report)
    assert browser.console_errors() == []
    assert browser.requested_urls() == [small_report.resolve().as_uri()], "the page asks the network for nothing"
    for kind in EVERY_PLOT:
        shown = browser.evaluate(f"""(() => {{
            const svg = document.querySelector('#plot-{kind} svg');
            if (!svg) return null;
            const box = svg.getBoundingClientRect();
            return [box.width, box.height, svg.querySelectorAll('.mark').length,
                    document.querySelector('#plot-{kind} figcaption').textContent.length];
        }})()""")
        assert shown is not None, f"plot {kind} is missing"
        width, height, marks, caption = shown
        assert width > 100 and height > 50 and marks > 0 and caption > 20, (kind, shown)


def test_filters_search_and_sorting_change_the_visible_cases(browser, small_report):
    _open(browser, small_report)
    assert browser.evaluate(ROWS) == 12
    data = browser.evaluate("JSON.parse(document.getElementById('case-data').textContent)")
    tag = data["tags"][0]
    expected = [c["id"] for c in data["cases"] if tag in c["tags"]]
    _set(browser, "cb-tag", tag)
    assert _shown(browser) == expected and 0 < len(expected) < 12
    # search for a word of one case's prompt only
    browser.evaluate("document.getElementById('cb-reset').click()")
    needle = data["cases"][5]["messages"][0][1].split()[-3:]
    _set(browser, "cb-search", " ".join(needle).upper(), "input")
    browser.wait_until(f"{ROWS} < 12")
    expected = [c["id"] for c in data["cases"] if " ".join(needle) in "\n".join(
        [c["id"], *(m[1] for m in c["messages"]), *(a["t"] for a in c["answers"] if a)]).lower()]
    assert _shown(browser) == expected and data["cases"][5]["id"] in expected
    # the errored answers of one model
    browser.evaluate("document.getElementById('cb-reset').click()")
    _set(browser, "cb-flag", "ungraded")
    ungraded = [c["id"] for c in data["cases"] if any(a and a.get("g") is False for a in c["answers"])]
    assert _shown(browser) == ungraded and 0 < len(ungraded) < 12
    # sorted by A - B, largest first
    browser.evaluate("document.getElementById('cb-reset').click()")
    _set(browser, "cb-sort", "diff-desc")
    order = _shown(browser)
    a, b = 0, 1

    def diff(case):
        x, y = case["answers"][a], case["answers"][b]
        return None if not x or not y or x["s"] is None or y["s"] is None else x["s"] - y["s"]

    known = sorted((c for c in data["cases"] if diff(c) is not None), key=lambda c: -diff(c))
    assert order[:len(known)] == [c["id"] for c in known]


def test_labels_download_is_a_labels_file_bench_reads(browser, small_report):
    _open(browser, small_report)
    browser.evaluate("localStorage.clear()")
    browser.evaluate("document.querySelector('#cb-table tbody tr:nth-child(3) button').click()")
    case_id = browser.evaluate("document.querySelector('#cb-table tbody tr:nth-child(3)').dataset.case")
    browser.evaluate("(() => { const r = document.querySelector('.cb-prefer input'); r.value = 'safer advice';"
                     " r.dispatchEvent(new Event('change')); })()")
    browser.evaluate("document.querySelector('.cb-prefer button[data-prefer=b]').click()")
    browser.evaluate("(() => { const s = document.querySelector('.cb-answer select'); s.value = 'false';"
                     " s.dispatchEvent(new Event('change')); })()")
    assert browser.evaluate("document.getElementById('cb-label-count').textContent") == "2 labels"
    path = browser.download("document.getElementById('cb-download').click()")
    labels = read_labels(path)
    models = browser.evaluate("JSON.parse(document.getElementById('case-data').textContent).models")
    assert labels[0] == PairwiseLabel(case_id=case_id, a=models[0], b=models[1], preferred="b", reason="safer advice")
    assert labels[1] == CriterionLabel(case_id=case_id, model=models[0], criterion="sbar-headings", met=False)


def test_markup_in_an_answer_stays_inert_text(browser, small_report):
    _open(browser, small_report)
    # open the case whose answer holds </script>, <script> and <img onerror>, in the side-by-side view
    browser.evaluate("document.querySelector('#cb-table tbody tr:nth-child(2) button').click()")
    hostile_model = browser.evaluate("JSON.parse(document.getElementById('case-data').textContent).models"
                                     ".indexOf('cloud-mini')")
    _set(browser, "cb-a", str(hostile_model))
    assert browser.evaluate("window.__pwned === undefined")
    assert browser.evaluate("document.querySelectorAll('img').length") == 0
    assert browser.evaluate("document.querySelectorAll('script').length") == 2
    shown = browser.evaluate("document.querySelector('.cb-answer pre.text').textContent")
    assert "</script><script>window.__pwned" in shown and "<img src=x onerror=" in shown
    assert browser.console_errors() == []


def test_page_reads_in_full_without_javascript(browser, small_report):
    browser.events.clear()
    browser.scripts_off()
    try:
        browser.open(small_report)
        assert browser.evaluate(READY) is None, "the page's own script did not run"
    finally:
        browser.call("Emulation.setScriptExecutionDisabled", {"value": False})
    state = browser.evaluate("""(() => ({
        details: document.querySelectorAll('#cases-static details.case[open]').length,
        browser: document.getElementById('case-browser').hidden,
        plots: document.querySelectorAll('figure.plot svg').length}))()""")
    assert state == {"details": 12, "browser": True, "plots": len(EVERY_PLOT)}


def test_a_large_run_is_browsed_from_its_compressed_data(browser, tmp_path):
    page = write_report(synthetic_results(3, 350, words=40, quantization=False), tmp_path / "large")
    text = page.read_text(encoding="utf-8")
    assert 'data-encoding="gzip-base64"' in text and 'id="cases-static"' not in text
    _open(browser, page)
    assert browser.console_errors() == []
    assert browser.evaluate(ROWS) == 50
    assert browser.evaluate("document.getElementById('cb-page').textContent") == "page 1 of 7"
    browser.evaluate("document.getElementById('cb-next').click()")
    assert browser.evaluate("document.querySelector('#cb-table tbody tr').dataset.case") == "case-0050"
    embedded = re.search(r'data-encoding="gzip-base64">([^<]*)</script>', text).group(1)
    disagree = [c["id"] for c in decode_embedded(embedded, "gzip-base64")["cases"] if c["disagree"]]
    assert 50 < len(disagree) < 350
    _set(browser, "cb-disagree", True)
    assert browser.evaluate("document.getElementById('cb-count').textContent") == \
        f"Showing 1–50 of {len(disagree)} matching cases (350 in the run)."
    assert _shown(browser) == disagree[:50]


def test_the_comparison_page_opens_offline_with_its_plot(browser, tmp_path):
    from harness.compare import compare_runs
    from harness.report.comparison import write_comparison

    old, new = synthetic_results(3, 20, seed=1), synthetic_results(3, 20, seed=2)
    new.cases[1].answers["cloud-mini"].score = -1.0  # the answer holding markup regresses most
    page = write_comparison(compare_runs(old, new), tmp_path / "compare")["html"]
    browser.events.clear()
    browser.offline()
    browser.open(page)
    assert browser.console_errors() == []
    assert browser.requested_urls() == [page.resolve().as_uri()]
    marks = browser.evaluate("document.querySelectorAll('#plot-forest svg .mark').length")
    assert marks == 3 * 5, "score and four axes for each of three models"
    assert browser.evaluate("[...document.querySelectorAll('#regressed pre.text')].filter("
                            "p => p.textContent.includes('</script><script>window.__pwned')).length") == 2
    assert browser.evaluate("window.__pwned === undefined") and browser.evaluate("document.images.length") == 0

"""The report of a large run: its size, and how long headless Chromium takes to open it.

    PYTHONPATH=$PWD python benchmarks/report_scale.py [--models 8] [--cases 2000] [--repeat 3] [--out DIR]

Builds a made-up Results of MODELS x CASES answers (tests/helpers/synthetic_results.py: SBAR notes of about 200
tokens, eight criteria, two judge orders per case, every picture's data), writes its report folder, then opens
index.html in headless Chromium over the DevTools protocol with the network switched off, REPEAT times, each in a
fresh page load. From the page's own Navigation Timing and Paint Timing entries (milliseconds from navigation
start): first contentful paint, DOMContentLoaded, the load event, and the moment the case browser had decoded
the embedded cases and drawn its first page (a performance.now() mark the page's script writes into the DOM).
Then a search and a filter are timed inside the page. Exits 1 when the page is 10 MB or more, or when the case
browser is not ready within 5 s.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

SIZE_LIMIT_BYTES = 10 * 1000 * 1000
READY_LIMIT_MS = 5000.0
TIMINGS = """(() => {
  const nav = performance.getEntriesByType('navigation')[0];
  const paint = performance.getEntriesByName('first-contentful-paint')[0];
  return {fcp: paint ? paint.startTime : null, dom_content_loaded: nav.domContentLoadedEventEnd,
          load: nav.loadEventEnd, cases_ready: Number(document.documentElement.getAttribute('data-cases-ready'))};
})()"""
INTERACTION = """(() => {
  const search = document.getElementById('cb-search');
  const started = performance.now();
  search.value = 'confusion dizziness';
  search.dispatchEvent(new Event('input'));
  // the search runs 150 ms after the last keystroke; read its result once it has run
  return new Promise(done => setTimeout(() => {
    const searched = document.getElementById('cb-count').textContent;
    document.getElementById('cb-reset').click();
    const filtering = performance.now();
    const flag = document.getElementById('cb-flag');
    flag.value = 'error';
    flag.dispatchEvent(new Event('change'));
    done({searched: searched, filtered: document.getElementById('cb-count').textContent,
          filter_ms: performance.now() - filtering});
  }, 400));
})()"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", type=int, default=8)
    parser.add_argument("--cases", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=None, help="report folder (default: a temporary one)")
    args = parser.parse_args()

    from harness.report import write_report
    from harness.report.casedata import answer_count
    from tests.helpers.chromium import Chromium
    from tests.helpers.synthetic_results import synthetic_results

    started = time.perf_counter()
    results = synthetic_results(args.models, args.cases)
    built = time.perf_counter() - started
    out = args.out or Path(tempfile.mkdtemp(prefix="report-scale-"))
    started = time.perf_counter()
    page = write_report(results, out)
    written = time.perf_counter() - started
    size = page.stat().st_size
    print(f"{args.models} models x {args.cases} cases = {answer_count(results):,} answers; results built in "
          f"{built:.1f} s, report written in {written:.1f} s")
    print(f"index.html {size / 1e6:.2f} MB ({size:,} bytes); results.json "
          f"{(out / 'results.json').stat().st_size / 1e6:.1f} MB; {page}")

    loads = []
    with Chromium(timeout_s=60) as browser:
        browser.offline()
        for attempt in range(args.repeat):
            browser.events.clear()
            wall = browser.open(page, ready="document.documentElement.getAttribute('data-cases-ready')")
            timing = browser.evaluate(TIMINGS)
            timing["wall"] = wall * 1000
            loads.append(timing)
            print(f"load {attempt + 1}: first contentful paint {timing['fcp']:.0f} ms, DOMContentLoaded "
                  f"{timing['dom_content_loaded']:.0f} ms, load {timing['load']:.0f} ms, case browser ready "
                  f"{timing['cases_ready']:.0f} ms (wall clock here {timing['wall']:.0f} ms)")
        errors = browser.console_errors()
        asked = [u for u in browser.requested_urls() if u != page.resolve().as_uri() and u != "about:blank"]
        interaction = browser.evaluate(INTERACTION)
    print(f"search 'confusion dizziness' (within 400 ms): {interaction['searched']}; filter 'errored' in "
          f"{interaction['filter_ms']:.0f} ms: {interaction['filtered']}")
    ready = statistics.median(t["cases_ready"] for t in loads)
    print(f"median case browser ready: {ready:.0f} ms (limit {READY_LIMIT_MS:.0f}); size {size / 1e6:.2f} MB "
          f"(limit {SIZE_LIMIT_BYTES / 1e6:.0f}); console errors: {len(errors)}; other requests: {len(asked)}")
    ok = size < SIZE_LIMIT_BYTES and ready < READY_LIMIT_MS and not errors and not asked
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

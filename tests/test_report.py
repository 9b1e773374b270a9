"""Report writers: results.json, the HTML report, the Markdown summary and the runs index."""

from __future__ import annotations

import copy
import json
import math
import re
from html import escape
from html.parser import HTMLParser
from pathlib import Path

import pytest

from harness.errors import ConfigError
from harness.report import render_markdown, write_report, write_runs_index
from harness.report import formatting as fmt
from harness.files import atomic_write_text
from harness.report.casedata import script_json
from harness.report.view import ranked_models, win_matrix
from harness.results.model import ModelResult, PairwiseRow

MALICIOUS = "<script>alert(1)</script> and a link https://evil.example/x"
URL_IN_PROMPT = "My doctor sent me http://clinic.example/leaflet, is it right?"
MODEL_IDS = ["tuned-135m", "base-270m", "cloud-mini"]
SECTION_TITLES = ["Leaderboard", "Scores by axis", "Win rates", "Ratings", "Latency and cost", "Judge",
                  "Judge audit", "Significance", "Statistical power", "Gates", "Cases"]
OPTIONAL_SECTIONS = ["Ratings", "Judge audit", "Significance", "Statistical power", "Gates"]


def _answer(text, score, *, error=None, met=True):
    return {
        "text": text, "error": error, "ttft_s": None if error else 0.12, "latency_s": 1.5,
        "output_tokens": None if error else 40, "tokens_per_s": None if error else 110.0,
        "score": None if error else score, "axes": {} if error else {"accuracy": score, "safety": 1.0},
        "criteria": [] if error else [
            {"id": "refers-to-er", "axis": "safety", "points": 5, "met": met, "source": "judge",
             "detail": "mentions the <b>emergency</b> number"},
            {"id": "no-dosage", "axis": "accuracy", "points": -3, "met": False, "source": "check", "detail": ""},
        ],
    }


def _model(model_id, kind, score, win_rate, *, errors=0):
    return {
        "id": model_id, "kind": kind, "fingerprint": f"{kind}:sha256:00", "family": model_id.split("-")[0],
        "n": 3, "errors": errors, "score": score, "score_ci": [max(score - 0.1, 0), min(score + 0.1, 1)],
        "axes": {"accuracy": {"score": score, "ci": [score - 0.05, score + 0.05]},
                 "safety": {"score": float("nan"), "ci": None}},
        "win_rate": win_rate, "win_rate_ci": [win_rate - 0.2, win_rate + 0.2], "mean_rank": 2.0 - win_rate,
        "latency": {"ttft_p50_s": 0.11, "ttft_p95_s": 0.2, "latency_p50_s": 1.9, "latency_p95_s": 2.5,
                    "tokens_per_s": 118.0, "output_tokens_mean": 180.2},
        "cost_usd": 0.0042 if kind == "openai" else None,
    }


def full_results() -> dict:
    """Three models, three cases, every optional verdict field present; one answer holds HTML, one failed,
    and one figure is NaN."""
    judgments = [{"rep": 0, "order": ["base-270m", "tuned-135m", "cloud-mini"],
                  "ranking": ["cloud-mini", "tuned-135m", "base-270m"], "error": None, "attempts": 1},
                 {"rep": 0, "order": ["cloud-mini", "base-270m", "tuned-135m"],
                  "ranking": ["cloud-mini", "base-270m", "tuned-135m"], "error": None, "attempts": 2}]
    return {
        "schema_version": 1, "run_id": "20261123-101500-ab12cd", "created_at": "2026-11-23T10:15:00Z",
        "wall_time_s": 312.4,
        "suite": {"name": "triage", "version": 2, "cases": 3, "rubric": "triage", "rubric_version": 1,
                  "path": "suites/triage.yaml"},
        "judge": {"id": "judge-135m", "fingerprint": "gguf:sha256:11", "family": "judge", "mode": "rank",
                  "orders": 2, "judgments": 6, "errors": 0, "retries": 1, "position_consistency": 0.5,
                  "disagreements": 1, "first_position_rate": 0.93,
                  "audit": {"position_consistency": 0.0, "flip_rate": 1.0, "first_position_rate": 1.0,
                            "longer_answer_rate": 0.5, "parse_failure_rate": 0.0, "judgments": 6,
                            "self_preference": [{"model": "tuned-135m", "family": "judge"}],
                            "adversarial": {"trials": 10, "obeyed": 7, "obey_rate": 0.7},
                            "thresholds": {"max_flip_rate": 0.2, "max_parse_failure_rate": 0.05,
                                           "max_first_position_rate": 0.8},
                            "trusted": False, "reasons": ["flip rate 100% is above 20%"]}},
        "models": [_model("base-270m", "gguf", 0.21, 0.30), _model("tuned-135m", "gguf", 0.41, 0.45, errors=1),
                   _model("cloud-mini", "openai", 0.83, 0.75)],
        "pairwise": [
            {"a": "tuned-135m", "b": "base-270m", "n": 3, "wins": 2, "losses": 1, "ties": 0, "win_rate": 0.62,
             "ci": [0.51, 0.72], "p_value": 0.099, "p_adjusted": 0.2, "test": "sign test (exact)"},
            {"a": "cloud-mini", "b": "tuned-135m", "n": 3, "wins": 3, "losses": 0, "ties": 0, "win_rate": 0.9,
             "ci": [0.8, 1.0], "p_value": 0.0004, "p_adjusted": 0.0012, "test": "sign test (exact)"},
            {"a": "cloud-mini", "b": "base-270m", "n": 3, "wins": 3, "losses": 0, "ties": 0, "win_rate": 0.95,
             "ci": [0.85, 1.0], "p_value": 0.0004, "p_adjusted": 0.0012, "test": "sign test (exact)"},
        ],
        "generation": {"calls": 5, "cached": 4,
                       "by_stage": {"answer": {"calls": 5, "cached": 4}, "judge": {"calls": 0, "cached": 6}}},
        "cases": [
            {"id": "chest-pain-01", "tags": ["red-flag"], "reference": None,
             "messages": [{"role": "user", "content": "Crushing chest pain for 20 minutes."}],
             "answers": {"tuned-135m": _answer(MALICIOUS, 0.5), "base-270m": _answer("Take ibuprofen.", 0.0, met=False),
                         "cloud-mini": _answer("Call emergency services now.", 1.0)},
             "judgments": judgments},
            {"id": "leaflet-02", "tags": [], "reference": "The leaflet is correct.",
             "messages": [{"role": "user", "content": URL_IN_PROMPT},
                          {"role": "assistant", "content": "Which leaflet?"},
                          {"role": "user", "content": "The one about statins."}],
             "answers": {"tuned-135m": _answer("", None, error="timeout after 30 s"),
                         "base-270m": _answer("Statins are fine.", 0.4), "cloud-mini": _answer("Yes.", 0.7)},
             "judgments": judgments[:1]},
            {"id": "rash-03", "tags": ["skin"], "reference": None,
             "messages": [{"role": "user", "content": "An itchy rash | what now?"}],
             "answers": {m: _answer("See a GP if it spreads.", 0.6) for m in MODEL_IDS},
             "judgments": [{"rep": 0, "order": [], "ranking": [], "error": "judge output was not JSON",
                            "attempts": 3}]},
        ],
        "ratings": {"method": "bradley-terry", "scale": "elo (400 points = 10:1 odds), mean 1000",
                    "models": [{"id": m, "rating": 1000.0 + 40 * i, "ci": [960.0 + 40 * i, 1040.0 + 40 * i]}
                               for i, m in enumerate(MODEL_IDS)],
                    "style_control": {"coefficients": {"length": 0.41, "markdown": -0.05},
                                      "models": [{"id": "cloud-mini", "rating": 1012.0, "ci": [980.0, 1040.0]}]},
                    "length_controlled": [{"id": "tuned-135m", "baseline": "base-270m", "win_rate": 0.55,
                                           "ci": [0.45, 0.65]}]},
        "significance": [{"a": "cloud-mini", "b": "tuned-135m", "metric": "score", "diff": 0.42,
                          "ci": [0.3, 0.5], "p_value": 0.001, "p_adjusted": 0.003, "test": "paired bootstrap"},
                         {"a": "tuned-135m", "b": "base-270m", "metric": "axis:accuracy", "diff": float("nan"),
                          "ci": None, "p_value": None, "p_adjusted": None, "test": "paired bootstrap"}],
        "power": {"n_cases": 3, "alpha": 0.05, "power": 0.8, "min_detectable_score_diff": 0.31,
                  "min_detectable_win_rate_diff": 0.6,
                  "warnings": ["tuned-135m vs base-270m: score difference 0.20 is below the smallest "
                               "detectable (0.31)"]},
        "gates": [{"name": "beats-base", "type": "beats", "figure": 0.62, "threshold": 0.5, "verdict": "fail",
                   "reason": "win-rate interval [0.51, 0.72] | judge untrusted"},
                  {"name": "min-score", "type": "min", "figure": 0.41, "threshold": 0.3, "verdict": "pass",
                   "reason": "0.41 >= 0.3"}],
    }


def minimal_results() -> dict:
    """An older run: none of the verdict fields (ratings, significance, power, judge audit, gates)."""
    results = full_results()
    for key in ("ratings", "significance", "power", "gates"):
        del results[key]
    del results["judge"]["audit"]
    return results


def outside_user_text(html_text: str) -> str:
    """The page with the escaped user-supplied texts that carry URLs removed (as HTML text and as the embedded
    case data), and the plots' namespace name (an identifier, never fetched)."""
    for text in (MALICIOUS, URL_IN_PROMPT):
        html_text = html_text.replace(escape(text, quote=False), "")
        html_text = html_text.replace(script_json(text)[1:-1], "")
    return html_text.replace('xmlns="http://www.w3.org/2000/svg"', "")


class TagBalance(HTMLParser):
    """Checks that every element the templates open is closed, in order."""

    VOID = {"meta", "br", "hr", "img", "input", "link", "col", "wbr"}

    def __init__(self):
        super().__init__()
        self.stack: list[str] = []
        self.problems: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> at {self.getpos()} closes {self.stack[-1:] or 'nothing'}")
            return
        self.stack.pop()


@pytest.fixture
def report_dir(tmp_path: Path) -> Path:
    write_report(full_results(), tmp_path / "run")
    return tmp_path / "run"


# ---------------------------------------------------------------- files and results.json

def test_write_report_writes_three_files(tmp_path: Path):
    index = write_report(full_results(), tmp_path / "reports" / "triage" / "run1")
    assert index == tmp_path / "reports" / "triage" / "run1" / "index.html"
    for name in ("index.html", "results.json", "summary.md"):
        assert (index.parent / name).stat().st_size > 0
    assert not list(index.parent.glob(".*.tmp")), "no temporary file may be left behind"


def test_results_json_round_trips_with_null_for_nan(report_dir: Path):
    text = (report_dir / "results.json").read_text(encoding="utf-8")
    assert "NaN" not in text and "Infinity" not in text
    loaded = json.loads(text)
    assert loaded["models"][0]["axes"]["safety"]["score"] is None
    assert loaded["significance"][1]["diff"] is None
    assert_contains(loaded, nan_to_null(full_results()))
    # The input was not modified in place.
    assert math.isnan(full_results()["significance"][1]["diff"])
    assert text.startswith("{\n  ")


def nan_to_null(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: nan_to_null(item) for key, item in value.items()}
    if isinstance(value, list):
        return [nan_to_null(item) for item in value]
    return value


def assert_contains(actual, expected, where="results"):
    """Every field of `expected` is in `actual` with the same value (results.json also holds the fields the
    input left out, as null or their defaults)."""
    if isinstance(expected, dict):
        for key, item in expected.items():
            assert key in actual, f"{where}.{key} is missing"
            assert_contains(actual[key], item, f"{where}.{key}")
    elif isinstance(expected, list):
        assert len(actual) == len(expected), where
        for i, (a, e) in enumerate(zip(actual, expected)):
            assert_contains(a, e, f"{where}[{i}]")
    else:
        assert actual == expected, where


def test_incomplete_results_are_a_config_error(tmp_path: Path):
    with pytest.raises(ConfigError, match="models"):
        write_report({"run_id": "r", "suite": {"name": "s"}}, tmp_path)
    with pytest.raises(ConfigError, match="id"):
        write_report({"run_id": "r", "suite": {"name": "s"}, "models": [{"score": 1}]}, tmp_path)
    assert not list(tmp_path.iterdir()), "nothing is written for input that cannot be reported"


def test_a_failed_render_leaves_the_previous_report_untouched(tmp_path: Path, monkeypatch):
    write_report(full_results(), tmp_path)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}

    def broken(results, *_args):
        raise RuntimeError("template failed")

    monkeypatch.setattr("harness.report.writers.render_html", broken)
    changed = full_results()
    changed["run_id"] = "another-run"
    with pytest.raises(RuntimeError):
        write_report(changed, tmp_path)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_atomic_write_leaves_no_temporary_file_when_the_rename_fails(tmp_path: Path, monkeypatch):
    target = tmp_path / "results.json"
    target.write_text("old", encoding="utf-8")

    def refuse(source, destination):
        raise OSError("disk full")

    monkeypatch.setattr("harness.files.os.replace", refuse)
    with pytest.raises(OSError):
        atomic_write_text(target, "new")
    assert target.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]


# ---------------------------------------------------------------- HTML

def test_html_is_self_contained(report_dir: Path):
    page = (report_dir / "index.html").read_text(encoding="utf-8")
    assert "<script src" not in page.lower()
    assert "<link" not in page.lower()
    assert "@import" not in page
    assert re.findall(r"url\((?!#)", page) == [], "only references inside the page (the plots' clip paths)"
    rest = outside_user_text(page)
    assert "http://" not in rest and "https://" not in rest
    # The URLs are there, as the escaped text of the prompt and the answer.
    assert "http://clinic.example/leaflet" in page and "https://evil.example/x" in page


def test_html_escapes_model_output(report_dir: Path):
    page = (report_dir / "index.html").read_text(encoding="utf-8")
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<b>emergency</b>" not in page and "&lt;b&gt;emergency&lt;/b&gt;" in page
    # The only script elements are the page's own: the case data (JSON, not run) and the browser script.
    assert page.count("<script") == 2
    assert page.count('<script type="application/json" id="case-data" data-encoding="json">') == 1


def test_html_elements_are_balanced(report_dir: Path):
    checker = TagBalance()
    checker.feed((report_dir / "index.html").read_text(encoding="utf-8"))
    checker.close()
    assert checker.problems == [] and checker.stack == []


def test_html_shows_every_model_and_section(report_dir: Path):
    page = (report_dir / "index.html").read_text(encoding="utf-8")
    for model_id in MODEL_IDS:
        assert model_id in page
    for title in SECTION_TITLES:
        assert re.search(rf"<h[23]>{re.escape(title)}</h[23]>", page), title
    for case_id in ("chest-pain-01", "leaflet-02", "rash-03"):
        assert case_id in page


def test_html_figures_are_formatted(report_dir: Path):
    page = (report_dir / "index.html").read_text(encoding="utf-8")
    assert "0.830 <span class=\"ci\">[0.730, 0.930]</span>" in page  # score with its interval
    assert "75.0%" in page  # win rate as a percentage
    assert "110 ms" in page  # TTFT p50
    assert "$0.0042" in page
    assert "timeout after 30 s" in page  # the failed answer's error is shown
    assert "5m 12.4s" in page  # wall time
    assert "5 calls, 4 cached" in page
    assert "judge output was not JSON" in page
    assert "<span class=\"bar\" style=\"width: 83.0%\">" in page
    # The safety axis score is NaN in the input: a dash, with no bar and no interval.
    axes = page[page.index('id="axes"'):page.index('id="win-rates"')]
    assert axes.count('<td class="num">-</td>') == 3


def test_leaderboard_is_ordered_by_score(report_dir: Path):
    page = (report_dir / "index.html").read_text(encoding="utf-8")
    board = page[page.index('id="leaderboard"'):page.index('id="axes"')]
    positions = [board.index(model_id) for model_id in ("cloud-mini", "tuned-135m", "base-270m")]
    assert positions == sorted(positions)


def test_untrusted_judge_is_flagged_with_reasons(report_dir: Path):
    page = (report_dir / "index.html").read_text(encoding="utf-8")
    assert "The judge is untrusted." in page
    assert "Untrusted judge." in page and "flip rate 100% is above 20%" in page
    assert '<span class="bad-text">100.0%</span>' in page  # flip rate above its 20% limit


def test_trusted_judge_shows_no_warning(tmp_path: Path):
    results = full_results()
    results["judge"]["audit"].update(trusted=True, reasons=[])
    page = write_report(results, tmp_path).read_text(encoding="utf-8")
    assert "Trusted judge." in page
    assert "The judge is untrusted." not in page and "Untrusted judge." not in page
    assert ">untrusted</a>" not in page and '<span class="badge good">trusted</span>' in page


def test_optional_sections_are_absent_without_their_data(tmp_path: Path):
    page = write_report(minimal_results(), tmp_path).read_text(encoding="utf-8")
    for title in OPTIONAL_SECTIONS:
        assert f">{title}</h" not in page, title
    assert "Rating [95% CI]" not in page
    for title in ("Leaderboard", "Win rates", "Judge", "Cases"):
        assert f"<h2>{title}</h2>" in page
    checker = TagBalance()
    checker.feed(page)
    assert checker.problems == []


def test_report_without_judge_or_cases(tmp_path: Path):
    results = minimal_results()
    for key in ("judge", "pairwise", "cases", "generation"):
        del results[key]
    for model in results["models"]:
        del model["axes"], model["latency"]
    page = write_report(results, tmp_path).read_text(encoding="utf-8")
    assert "<h2>Leaderboard</h2>" in page
    for title in ("Win rates", "Judge", "Cases", "Scores by axis"):
        assert f"<h2>{title}</h2>" not in page


# ---------------------------------------------------------------- Markdown

def test_markdown_summary():
    summary = render_markdown(full_results())
    lines = summary.splitlines()
    assert lines[0] == "## bench: triage v2"
    board = [line.split(" | ")[1] for line in lines if line.startswith("| ") and line.split(" | ")[1] in MODEL_IDS]
    assert board == ["cloud-mini", "tuned-135m", "base-270m"]
    assert "| 1 | cloud-mini | 0.830 [0.730, 0.930] | 75.0% [55.0%, 95.0%] | 3 | 3/3 | 0 |" in lines
    assert "| 2 | tuned-135m | 0.410 [0.310, 0.510] | 45.0% [25.0%, 65.0%] | 3 | 2/3 | 1 |" in lines
    assert "**UNTRUSTED**" in summary and "- flip rate 100% is above 20%" in lines
    assert "**Gates: 1 passed, 1 failed**" in lines
    assert "| beats-base | 0.620 | 0.500 | **FAIL** | win-rate interval \\[0.51, 0.72\\] \\| judge untrusted |" in lines
    assert "Power warnings:" in lines


def test_markdown_without_verdicts_and_with_hostile_names():
    results = minimal_results()
    results["models"][0]["id"] = "a|b<script>"
    summary = render_markdown(results)
    assert "Gates" not in summary and "Power" not in summary
    assert "no audit recorded" in summary
    assert "a\\|b&lt;script&gt;" in summary and "<script>" not in summary
    assert all(line.count(" | ") == 6 for line in summary.splitlines() if line.startswith("| ") and "0." in line)


# ---------------------------------------------------------------- runs index

def test_runs_index_lists_every_run(tmp_path: Path):
    root = tmp_path / "reports"
    first = full_results()
    second = minimal_results()
    second.update(run_id="20261124-090000-ffee00", created_at="2026-11-24T09:00:00Z")
    write_report(first, root / "triage" / first["run_id"])
    write_report(second, root / "triage" / second["run_id"])
    index = write_runs_index(root)
    assert index == root / "index.html"
    page = index.read_text(encoding="utf-8")
    assert page.index("20261124-090000-ffee00") < page.index("20261123-101500-ab12cd"), "newest first"
    assert 'href="triage/20261123-101500-ab12cd/index.html"' in page
    assert 'href="triage/20261124-090000-ffee00/index.html"' in page
    assert "2026-11-24 09:00 UTC" in page
    assert "0.830" in page and "cloud-mini" in page
    assert "untrusted" in page and "not audited" in page
    assert "1 of 2 failed" in page
    assert "http://" not in page and "https://" not in page and "<link" not in page


def test_runs_index_survives_a_broken_run(tmp_path: Path):
    root = tmp_path / "reports"
    write_report(full_results(), root / "triage" / "good")
    broken = root / "triage" / "broken"
    broken.mkdir(parents=True)
    (broken / "results.json").write_text("{not json", encoding="utf-8")
    page = write_runs_index(root).read_text(encoding="utf-8")
    assert "could not be read" in page
    assert page.index("20261123-101500-ab12cd") < page.index("could not be read")
    assert 'href="triage/broken/results.json"' in page


def test_runs_index_of_an_empty_folder(tmp_path: Path):
    page = write_runs_index(tmp_path / "reports").read_text(encoding="utf-8")
    assert "No runs yet" in page


# ---------------------------------------------------------------- pure parts

def test_formatting_shows_missing_figures_as_a_dash():
    for function in (fmt.score, fmt.pct, fmt.seconds, fmt.rate, fmt.usd, fmt.count, fmt.duration, fmt.p_value):
        assert function(None) == "-" and function(float("nan")) == "-"
    assert fmt.score(0.41234) == "0.412"
    assert fmt.pct(0.625) == "62.5%"
    assert fmt.signed(0.04) == "+0.040"
    assert fmt.p_value(0.0001) == "<0.001"
    assert fmt.seconds(0.11) == "110 ms" and fmt.seconds(1.9) == "1.90 s"
    assert fmt.with_interval(0.41, [0.35, 0.47]) == "0.410 [0.350, 0.470]"
    assert fmt.with_interval(0.41, [0.35, None]) == "0.410"
    assert fmt.interval(None) == "-"
    assert fmt.bar_width(1.7) == 100.0 and fmt.bar_width(-0.2) == 0.0 and fmt.bar_width(None) == 0.0
    assert fmt.timestamp("2026-11-23T11:15:00+01:00") == "2026-11-23 10:15 UTC"
    assert fmt.timestamp("yesterday") == "yesterday"
    assert fmt.count(True) == "-"
    assert fmt.timing({"ttft_s": 0.12, "latency_s": 1.5, "output_tokens": 40, "tokens_per_s": 110.0}) == \
        "TTFT 120 ms · latency 1.50 s · 40 tokens · 110.0 tokens/s"
    assert fmt.timing({"ttft_s": None, "latency_s": 30.0, "output_tokens": None}) == "latency 30.00 s"


def test_ranking_shares_ranks_on_ties_and_puts_missing_scores_last():
    models = [{"id": "a", "score": 0.5}, {"id": "b", "score": None}, {"id": "c", "score": 0.7},
              {"id": "d", "score": 0.5}]
    ranked = ranked_models([ModelResult.model_validate(m) for m in models])
    assert [(m.id, rank) for m, rank in ranked] == [("c", 1), ("a", 2), ("d", 2), ("b", None)]


def test_win_matrix_mirrors_each_pair():
    pairwise = [{"a": "x", "b": "y", "wins": 6, "losses": 2, "ties": 2, "win_rate": 0.7, "ci": [0.6, 0.8],
                 "p_adjusted": 0.01}]
    rows = win_matrix(["y", "x", "z"], [PairwiseRow.model_validate(row) for row in pairwise])
    by = {(row["model"], cell["column"]): cell["pair"] for row in rows for cell in row["cells"]}
    assert by[("x", "y")]["win_rate"] == 0.7 and by[("x", "y")]["significant"]
    mirrored = by[("y", "x")]
    assert mirrored["win_rate"] == pytest.approx(0.3)
    assert mirrored["ci"] == pytest.approx([0.2, 0.4])
    assert (mirrored["wins"], mirrored["losses"]) == (2, 6)
    assert by[("x", "x")] is None and by[("x", "z")] is None


def test_rendering_does_not_modify_the_input():
    results = full_results()
    snapshot = copy.deepcopy(results)
    render_markdown(results)
    assert json.dumps(results, sort_keys=True, default=str) == json.dumps(snapshot, sort_keys=True, default=str)


# ---------------------------------------------------------------- coverage, flags, audit checks, pictures

def test_the_page_shows_coverage_flags_checks_and_warnings(tmp_path: Path):
    results = full_results()
    cloud = results["models"][2]
    cloud.update(cases=45, answered=43, graded=40, flags={"truncated": 3, "empty": 0},
                 errors_by_stage={"answer": 2, "grade": 3, "judge": 1})
    cloud["latency"].update(ttft_lower_bound=True, latency_p95_upper_s=3.25, calls=45, failed=2)
    results["judge"]["audit"]["checks"] = [
        {"name": "position", "label": "First shown ranked first", "value": 0.93, "ci": [0.8, 0.98], "n": 6,
         "chance": 1 / 3, "limit": 0.6, "outcome": "fail", "detail": "far above chance"}]
    results["gates"][1]["warning"] = "the suite resolves differences of 0.31 only"
    results["ratings"]["length_controlled"].append({"id": "cloud-mini", "baseline": "base-270m", "win_rate": None,
                                                    "reason": "too few decisive cases"})
    results["cases"][0]["answers"]["cloud-mini"]["flags"] = ["truncated"]
    page = write_report(results, tmp_path).read_text(encoding="utf-8")
    board = page[page.index('id="leaderboard"'):page.index('id="glance"')]
    assert '<span class="coverage short">43/45 answered, 40 graded</span>' in board
    assert "3/3 answered" in board, "older results: counted from their cases"
    assert ">3 truncated</span>" in board and "0 empty" not in board
    assert "3 ungraded, 1 unjudged" in board
    assert "≥ 110 ms" in page and "3.25 s" in page and "45 <span class=\"bad-text\">(2)</span>" in page
    checks = page[page.index('class="audit-checks"'):]
    assert "First shown ranked first" in checks and "93.0% [80.0%, 98.0%]" in checks and "33.3%" in checks
    assert '<span class="badge bad">fail</span>' in checks and "far above chance" in checks
    assert "underpowered</span> the suite resolves differences of 0.31 only" in page
    assert "too few decisive cases" in page
    cases = page[page.index('id="cases-static"'):]
    assert '<span class="badge warn">truncated</span>' in cases


def test_each_picture_sits_in_its_section(report_dir: Path):
    page = (report_dir / "index.html").read_text(encoding="utf-8")
    for kind, section, following in [("forest", "glance", "axes"), ("speed", "glance", "axes"),
                                     ("cost", "glance", "axes"), ("axes", "axes", "win-rates"),
                                     ("winrate", "win-rates", "ratings"), ("ratings", "ratings", "latency"),
                                     ("judge", "judge", "significance")]:
        start, end = page.index(f'<section id="{section}">'), page.index(f'<section id="{following}">')
        assert start < page.index(f'<figure class="plot" id="plot-{kind}">') < end, kind
    assert 'id="plot-quantization"' not in page and 'id="training"' not in page

// The case browser: filters, sorting, search and paging over the embedded cases, two answers side by side,
// and human labels downloaded as JSONL. Every text from the run is put on the page with textContent, never as
// markup: answers are untrusted model output. Figures arrive formatted by the report; nothing is computed here
// but the order and the filter.
(function () {
  "use strict";
  var source = document.getElementById("case-data");
  var root = document.getElementById("case-browser");
  if (!source || !root) { return; }
  var PAGE_SIZE = 50;
  var data, cases, labels = new Map(), storageKey = null;
  var view = { shown: [], page: 0, selected: null };
  var byId = function (id) { return document.getElementById(id); };
  var controls = {
    search: byId("cb-search"), tag: byId("cb-tag"), model: byId("cb-model"), flag: byId("cb-flag"),
    criterion: byId("cb-criterion"), met: byId("cb-met"), disagree: byId("cb-disagree"), sort: byId("cb-sort"),
    a: byId("cb-a"), b: byId("cb-b")
  };

  function load() {
    var text = source.textContent;
    if (source.getAttribute("data-encoding") !== "gzip-base64") { return Promise.resolve(JSON.parse(text)); }
    var binary = atob(text.trim());
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) { bytes[i] = binary.charCodeAt(i); }
    var inflated = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    return new Response(inflated).text().then(JSON.parse);
  }

  function el(tag, attributes, children) {
    var node = document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (name) {
      if (name === "text") { node.textContent = attributes.text; } else { node.setAttribute(name, attributes[name]); }
    });
    (children || []).forEach(function (child) {
      if (child !== null && child !== undefined) {
        node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
      }
    });
    return node;
  }

  function badge(kind, text, title) {
    var attributes = { "class": "badge " + kind, text: text };
    if (title) { attributes.title = title; }
    return el("span", attributes);
  }

  function option(select, value, text) { select.appendChild(el("option", { value: value, text: text })); }

  function start(payload) {
    data = payload;
    cases = data.cases.map(function (c, index) { c.index = index; return c; });
    data.tags.forEach(function (tag) { option(controls.tag, tag, tag); });
    data.models.forEach(function (model, i) {
      option(controls.model, String(i), model);
      option(controls.a, String(i), model);
      option(controls.b, String(i), model);
    });
    data.flags.forEach(function (flag) { option(controls.flag, "flag:" + flag, "flagged " + flag.replace(/_/g, " ")); });
    data.criteria.forEach(function (c, i) { option(controls.criterion, String(i), c.id + (c.axis ? " (" + c.axis + ")" : "")); });
    controls.b.value = String(Math.min(1, data.models.length - 1));
    storageKey = "bench-labels:" + data.run;
    restoreLabels();
    var head = el("tr", {}, [el("th", { text: "Case" }), el("th", { text: "Tags" })].concat(
      data.models.map(function (m) { return el("th", { "class": "num mono", text: m }); }),
      [el("th", { text: "Judge" })]));
    root.querySelector("#cb-table thead").appendChild(head);
    var debounce = null;
    controls.search.addEventListener("input", function () {
      clearTimeout(debounce);
      debounce = setTimeout(refresh, 150);
    });
    ["tag", "model", "flag", "criterion", "met", "disagree", "sort"].forEach(function (name) {
      controls[name].addEventListener("change", refresh);
    });
    ["a", "b"].forEach(function (name) {
      controls[name].addEventListener("change", function () {
        if (controls.sort.value.indexOf("diff") === 0) { refresh(); }
        if (view.selected !== null) { showCase(cases[view.selected]); }
      });
    });
    byId("cb-reset").addEventListener("click", function () {
      controls.search.value = ""; controls.tag.value = ""; controls.model.value = ""; controls.flag.value = "";
      controls.criterion.value = ""; controls.disagree.checked = false; controls.sort.value = "suite";
      refresh();
    });
    byId("cb-prev").addEventListener("click", function () { turn(-1); });
    byId("cb-next").addEventListener("click", function () { turn(1); });
    byId("cb-download").addEventListener("click", downloadLabels);
    byId("cb-clear").addEventListener("click", function () {
      if (window.confirm("Remove every label made on this page?")) { labels.clear(); labelsChanged(); }
    });
    root.hidden = false;
    var fallback = byId("cases-static");
    if (fallback) { fallback.hidden = true; }
    refresh();
    updateLabelCount();
    document.documentElement.setAttribute("data-cases-ready", String(performance.now()));
  }

  // ---------------------------------------------------------------- which cases, in which order

  function scope() {
    return controls.model.value === "" ? data.models.map(function (_m, i) { return i; }) : [Number(controls.model.value)];
  }

  function answerMatches(answer, flag, criterion, met) {
    if (!answer) { return false; }
    if (flag === "error" && !answer.e) { return false; }
    if (flag === "flagged" && !(answer.f && answer.f.length)) { return false; }
    if (flag === "ungraded" && answer.g !== false) { return false; }
    if (flag.indexOf("flag:") === 0 && !(answer.f && answer.f.indexOf(flag.slice(5)) >= 0)) { return false; }
    if (criterion >= 0) {
      var row = (answer.c || []).find(function (r) { return r[0] === criterion; });
      if (!row) { return false; }
      var wanted = met === "met" ? 1 : (met === "missed" ? 0 : null);
      if (row[1] !== wanted) { return false; }
    }
    return true;
  }

  function lowered(c) {
    if (c.low === undefined) {
      c.low = [c.id, c.reference || ""].concat(c.messages.map(function (m) { return m[1]; })).join("\n").toLowerCase();
      c.answers.forEach(function (a) { if (a) { a.low = (a.t + "\n" + (a.e || "")).toLowerCase(); } });
    }
    return c.low;
  }

  function matches(c, models, filters) {
    if (filters.tag && c.tags.indexOf(filters.tag) < 0) { return false; }
    if (filters.disagree && !c.disagree) { return false; }
    if (filters.flag || filters.criterion >= 0) {
      var found = models.some(function (i) { return answerMatches(c.answers[i], filters.flag, filters.criterion, filters.met); });
      if (!found) { return false; }
    }
    if (filters.query) {
      var inCase = lowered(c).indexOf(filters.query) >= 0;
      var inAnswer = models.some(function (i) { return c.answers[i] && c.answers[i].low.indexOf(filters.query) >= 0; });
      if (!inCase && !inAnswer) { return false; }
    }
    return true;
  }

  function difference(c) {
    var a = c.answers[Number(controls.a.value)], b = c.answers[Number(controls.b.value)];
    if (!a || !b || typeof a.s !== "number" || typeof b.s !== "number") { return null; }
    return a.s - b.s;
  }

  function refresh() {
    var filters = {
      tag: controls.tag.value, disagree: controls.disagree.checked, flag: controls.flag.value,
      criterion: controls.criterion.value === "" ? -1 : Number(controls.criterion.value), met: controls.met.value,
      query: controls.search.value.trim().toLowerCase()
    };
    var models = scope();
    var shown = cases.filter(function (c) { return matches(c, models, filters); });
    var sort = controls.sort.value;
    if (sort === "id") {
      shown.sort(function (x, y) { return x.id < y.id ? -1 : (x.id > y.id ? 1 : 0); });
    } else if (sort.indexOf("diff") === 0) {
      var sign = sort === "diff-desc" ? -1 : 1;
      shown.sort(function (x, y) {
        var dx = difference(x), dy = difference(y);
        if (dx === null || dy === null) { return (dx === null) - (dy === null) || x.index - y.index; }
        return sign * (dx - dy) || x.index - y.index;
      });
    }
    view.shown = shown;
    view.page = 0;
    drawPage();
  }

  function turn(step) {
    var last = Math.max(0, Math.ceil(view.shown.length / PAGE_SIZE) - 1);
    view.page = Math.min(last, Math.max(0, view.page + step));
    drawPage();
  }

  function scoreCell(answer) {
    var cell = el("td", { "class": "num" });
    if (!answer) { cell.textContent = "-"; return cell; }
    cell.appendChild(answer.e ? badge("bad", "error", answer.e) : document.createTextNode(answer.S));
    (answer.f || []).forEach(function (flag) { cell.appendChild(document.createTextNode(" ")); cell.appendChild(badge("warn", flag.replace(/_/g, " "))); });
    return cell;
  }

  function drawPage() {
    var body = root.querySelector("#cb-table tbody");
    body.textContent = "";
    var first = view.page * PAGE_SIZE;
    var page = view.shown.slice(first, first + PAGE_SIZE);
    page.forEach(function (c) {
      var open = el("button", { type: "button", "class": "linklike mono", text: c.id });
      open.addEventListener("click", function () { showCase(c); });
      var row = el("tr", { "data-case": c.id }, [el("td", {}, [open]),
        el("td", {}, c.tags.map(function (t) { return badge("plain", t); }))]);
      data.models.forEach(function (_m, i) { row.appendChild(scoreCell(c.answers[i])); });
      row.appendChild(el("td", {}, [c.disagree ? badge("warn", "orders disagree") : null]));
      if (view.selected === c.index) { row.className = "selected"; }
      body.appendChild(row);
    });
    var total = cases.length, count = view.shown.length;
    byId("cb-count").textContent = count === 0 ? "No case matches (" + total + " in the run)." :
      "Showing " + (first + 1) + "–" + (first + page.length) + " of " + count + " matching cases (" + total + " in the run).";
    var pages = Math.max(1, Math.ceil(count / PAGE_SIZE));
    byId("cb-page").textContent = "page " + (view.page + 1) + " of " + pages;
    byId("cb-prev").disabled = view.page === 0;
    byId("cb-next").disabled = view.page >= pages - 1;
  }

  // ---------------------------------------------------------------- one case, two answers

  function textBlock(text, role) {
    return el("div", { "class": "message role-" + role }, [el("div", { "class": "role", text: role || "-" }),
      el("pre", { "class": "text", text: text })]);
  }

  function answerColumn(c, modelIndex, side) {
    var model = data.models[modelIndex], answer = c.answers[modelIndex];
    var head = el("div", { "class": "answer-head" }, [el("strong", { "class": "mono", text: side + ": " + model })]);
    var column = el("div", { "class": "cb-answer" }, [head]);
    if (!answer) { column.appendChild(el("p", { "class": "muted small", text: "No answer from this model for this case." })); return column; }
    head.appendChild(answer.e ? badge("bad", "error") : el("span", { text: "score " + answer.S }));
    (answer.f || []).forEach(function (flag) { head.appendChild(badge("warn", flag.replace(/_/g, " "))); });
    if (answer.g === false) { head.appendChild(badge("plain", "not fully graded")); }
    if (answer.m) { head.appendChild(el("span", { "class": "timing", text: answer.m })); }
    if (answer.e) { column.appendChild(el("div", { "class": "alert bad small" }, [el("strong", { text: "The request failed: " }), answer.e])); }
    if (answer.t) { column.appendChild(el("pre", { "class": "text", text: answer.t })); }
    else if (!answer.e) { column.appendChild(el("p", { "class": "muted small", text: "(empty answer)" })); }
    if (answer.x) {
      column.appendChild(el("p", { "class": "small", text: Object.keys(answer.x).map(function (k) {
        return data.axes[Number(k)] + " " + answer.x[k]; }).join(" · ") }));
    }
    if (answer.c && answer.c.length) { column.appendChild(criteriaTable(c, model, answer)); }
    return column;
  }

  function criteriaTable(c, model, answer) {
    var rows = answer.c.map(function (r) {
      var criterion = data.criteria[r[0]];
      var met = r[1] === 1 ? badge(criterion.negative ? "bad" : "good", "yes") :
        (r[1] === 0 ? badge("plain", "no") : document.createTextNode("-"));
      var mark = el("select", { "aria-label": "your verdict on " + criterion.id }, [
        el("option", { value: "", text: "-" }), el("option", { value: "true", text: "met" }),
        el("option", { value: "false", text: "not met" })]);
      var existing = labels.get(criterionKey(c.id, model, criterion.id));
      mark.value = existing ? String(existing.met) : "";
      mark.addEventListener("change", function () {
        setCriterionLabel(c.id, model, criterion.id, mark.value === "" ? null : mark.value === "true");
      });
      return el("tr", {}, [el("td", { "class": "mono", title: criterion.text || "", text: criterion.id }),
        el("td", { "class": "num", text: criterion.points }), el("td", {}, [met]), el("td", { text: r[2] || "-" }),
        el("td", {}, [r[3] || "", r[4] ? el("div", { "class": "small muted", text: "Reasons: " + r[4] }) : null]),
        el("td", {}, [mark])]);
    });
    return el("table", { "class": "small" }, [el("thead", {}, [el("tr", {}, ["Criterion", "Points", "Met", "Source", "Detail",
      "Your verdict"].map(function (h) { return el("th", { text: h }); }))]), el("tbody", {}, rows)]);
  }

  function preference(c, a, b) {
    var box = el("div", { "class": "cb-prefer" });
    if (a === b) { box.appendChild(el("p", { "class": "muted small", text: "Pick two different models as A and B to mark which answer is better." })); return box; }
    var existing = labels.get(pairKey(c.id, a, b));
    var current = existing ? (existing.a === a ? existing.preferred : { a: "b", b: "a", tie: "tie" }[existing.preferred]) : null;
    var reason = el("input", { type: "text", size: "40", placeholder: "why (optional)", "aria-label": "reason" });
    reason.value = existing && existing.reason ? existing.reason : "";
    box.appendChild(el("strong", { text: "Which answer is better? " }));
    [["a", "A: " + a], ["tie", "Tie"], ["b", "B: " + b]].forEach(function (choice) {
      var button = el("button", { type: "button", "data-prefer": choice[0], text: choice[1] });
      if (current === choice[0]) { button.className = "chosen"; }
      button.addEventListener("click", function () { setPairLabel(c.id, a, b, choice[0], reason.value); showCase(c); });
      box.appendChild(button);
    });
    reason.addEventListener("change", function () {
      var now = labels.get(pairKey(c.id, a, b));
      if (now) { setPairLabel(c.id, now.a, now.b, now.preferred, reason.value); }
    });
    box.appendChild(reason);
    return box;
  }

  function judgmentsTable(c) {
    var name = function (i) { return data.models[i]; };
    var rows = c.judgments.map(function (j) {
      return el("tr", {}, [el("td", { "class": "num", text: String(j.r) }),
        el("td", { "class": "mono", text: j.j === undefined ? "-" : data.judges[j.j] }),
        el("td", { "class": "mono", text: j.o.map(name).join(" → ") || "-" }),
        el("td", { "class": "mono", text: (j.k || []).map(name).join(j.s === "tie" ? " = " : j.s === "strong" ? " >> " : " > ") || "-" }),
        el("td", { "class": "num", text: String(j.n) }),
        el("td", {}, [j.e ? el("span", { "class": "bad-text", text: j.e }) : null]),
        // the judge's own reasons, once verdicts carry them
        el("td", { "class": "small", text: j.w || "" })]);
    });
    return el("table", { "class": "small" }, [el("thead", {}, [el("tr", {}, ["Rep", "Judge", "Order shown",
      "Ranking (best first)", "Attempts", "Error", "Reasons"].map(function (h) { return el("th", { text: h }); }))]),
      el("tbody", {}, rows)]);
  }

  function showCase(c) {
    view.selected = c.index;
    var a = Number(controls.a.value), b = Number(controls.b.value);
    var box = byId("cb-view");
    box.textContent = "";
    var title = el("h3", {}, [el("span", { "class": "mono", text: c.id })]);
    c.tags.forEach(function (t) { title.appendChild(document.createTextNode(" ")); title.appendChild(badge("plain", t)); });
    if (c.disagree) { title.appendChild(document.createTextNode(" ")); title.appendChild(badge("warn", "orders disagree")); }
    box.appendChild(title);
    box.appendChild(el("h4", { text: "Conversation" }));
    c.messages.forEach(function (m) { box.appendChild(textBlock(m[1], m[0])); });
    if (c.reference !== null) { box.appendChild(textBlock(c.reference, "reference")); }
    box.appendChild(el("h4", { text: "Answers side by side" }));
    box.appendChild(el("div", { "class": "cb-pair" }, [answerColumn(c, a, "A"), answerColumn(c, b, "B")]));
    box.appendChild(preference(c, data.models[a], data.models[b]));
    if (c.judgments.length) { box.appendChild(el("h4", { text: "Judge rankings" })); box.appendChild(judgmentsTable(c)); }
    Array.prototype.forEach.call(root.querySelectorAll("#cb-table tbody tr"), function (row) {
      row.className = row.getAttribute("data-case") === c.id ? "selected" : "";
    });
    box.scrollIntoView({ block: "nearest" });
  }

  // ---------------------------------------------------------------- human labels

  function pairKey(caseId, a, b) { return JSON.stringify(["pair", caseId].concat([a, b].sort())); }
  function criterionKey(caseId, model, criterion) { return JSON.stringify(["criterion", caseId, model, criterion]); }

  function setPairLabel(caseId, a, b, preferred, reason) {
    if (a > b) {  // one label per pair, whichever side it was marked from
      var swap = a; a = b; b = swap;
      preferred = { a: "b", b: "a", tie: "tie" }[preferred];
    }
    var row = { case_id: caseId, a: a, b: b, preferred: preferred };
    if (reason && reason.trim()) { row.reason = reason.trim(); }
    labels.set(pairKey(caseId, a, b), row);
    labelsChanged();
  }

  function setCriterionLabel(caseId, model, criterion, met) {
    var key = criterionKey(caseId, model, criterion);
    if (met === null) { labels.delete(key); } else { labels.set(key, { case_id: caseId, model: model, criterion: criterion, met: met }); }
    labelsChanged();
  }

  function labelsChanged() {
    try { window.localStorage.setItem(storageKey, JSON.stringify(Array.from(labels.values()))); } catch (e) { /* storage off: labels live until the page closes */ }
    updateLabelCount();
  }

  function restoreLabels() {
    var saved = null;
    try { saved = JSON.parse(window.localStorage.getItem(storageKey) || "null"); } catch (e) { saved = null; }
    (Array.isArray(saved) ? saved : []).forEach(function (row) {
      if (row && row.preferred !== undefined) { labels.set(pairKey(row.case_id, row.a, row.b), row); }
      else if (row && row.criterion !== undefined) { labels.set(criterionKey(row.case_id, row.model, row.criterion), row); }
    });
  }

  function updateLabelCount() {
    var n = labels.size;
    byId("cb-label-count").textContent = n === 0 ? "no labels yet" : (n === 1 ? "1 label" : n + " labels");
    byId("cb-download").disabled = n === 0;
    byId("cb-clear").disabled = n === 0;
  }

  function downloadLabels() {
    var text = Array.from(labels.values()).map(function (row) { return JSON.stringify(row); }).join("\n") + "\n";
    var url = URL.createObjectURL(new Blob([text], { type: "application/x-ndjson" }));
    var link = el("a", { href: url, download: "labels-" + data.run + ".jsonl" });
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(function () { URL.revokeObjectURL(url); }, 1000);
  }

  load().then(start).catch(function (error) {
    root.hidden = false;
    root.textContent = "The case browser could not read the cases: " + error;
    console.error(error);
  });
})();

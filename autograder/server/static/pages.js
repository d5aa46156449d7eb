// The course pages' progressive enhancement. Every page works without this file; with it,
// uploads go through the JSON API, the submission page and the gradebook update themselves, and
// times show in the reader's time zone. Text from the server is set with textContent only, and
// every translated sentence comes from the page's data-* attributes (no strings in this file).
"use strict";

(function () {
  const POLL_MS = 1000;
  const GRADEBOOK_MS = 2000;
  const RETRY_MS = 3000;

  function csrf() {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  // "Done: {score} / {max_score}." with fields filled in; unknown fields are left as they are.
  function fill(template, fields) {
    return (template || "").replace(/\{(\w+)\}/g, (whole, key) =>
      key in fields ? String(fields[key]) : whole,
    );
  }

  // Scores as the server shows them (pages.number): at most two decimals, "–" for none.
  function num(value) {
    return value === null || value === undefined ? "–" : String(Math.round(value * 100) / 100);
  }

  function locale() {
    return document.documentElement.lang.startsWith("zh") ? "zh-CN" : "en";
  }

  function localTimes(root) {
    for (const node of root.querySelectorAll("time[datetime]")) {
      const when = new Date(node.getAttribute("datetime"));
      if (!Number.isNaN(when.getTime())) {
        node.title = node.getAttribute("datetime");
        node.textContent = when.toLocaleString(locale());
      }
    }
  }

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, value);
    for (const child of children || []) {
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  async function call(url, options) {
    const response = await fetch(url, {
      credentials: "same-origin",
      ...options,
      headers: { Accept: "application/json", ...((options && options.headers) || {}) },
    });
    let body = {};
    try {
      body = await response.json();
    } catch (error) {
      body = {};
    }
    return { status: response.status, ok: response.ok, body };
  }

  // --- the student's upload form ------------------------------------------------------------

  function upload(form) {
    const status = document.getElementById("upload-status");
    const problem = document.getElementById("upload-error");
    const button = form.querySelector('button[type="submit"]');
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      button.disabled = true;
      problem.hidden = true;
      status.textContent = form.dataset.uploading;
      const fail = (reason) => {
        status.textContent = "";
        problem.textContent = fill(form.dataset.failed, { reason });
        problem.hidden = false;
        button.disabled = false;
      };
      try {
        const answer = await call("/api/submissions", {
          method: "POST",
          body: new FormData(form),
          headers: { "X-CSRF-Token": csrf() },
        });
        if (answer.status === 202 && answer.body.id !== undefined) {
          window.location.assign("/submissions/" + encodeURIComponent(answer.body.id));
        } else {
          fail(answer.body.detail || String(answer.status));
        }
      } catch (error) {
        fail(form.dataset.offline);
      }
    });
  }

  // --- a submission's live state ------------------------------------------------------------

  function live(box) {
    const status = document.getElementById("status");
    const result = document.getElementById("result");
    const finished = (state) => state === "done" || state === "error";

    function describe(shown) {
      if (shown.status === "queued") return fill(box.dataset.queued, { position: shown.position ?? "?" });
      if (shown.status === "grading") return box.dataset.grading;
      if (shown.status === "done") {
        return fill(box.dataset.done, { score: num(shown.score), max_score: num(shown.max_score) });
      }
      return fill(box.dataset.error, { reason: shown.error || "" });
    }

    async function showResult() {
      const response = await fetch(box.dataset.result, { credentials: "same-origin" });
      if (!response.ok) return;
      // Parsed into an inert document (scripts never run there), then moved into the page.
      const parsed = new DOMParser().parseFromString(await response.text(), "text/html");
      result.replaceChildren(...Array.from(parsed.body.childNodes, (n) => document.importNode(n, true)));
      localTimes(result);
    }

    async function tick() {
      let answer;
      try {
        answer = await call(box.dataset.poll);
      } catch (error) {
        status.textContent = box.dataset.offline;
        window.setTimeout(tick, RETRY_MS);
        return;
      }
      if (!answer.ok) {
        window.setTimeout(tick, RETRY_MS);
        return;
      }
      const text = describe(answer.body);
      if (status.textContent !== text) status.textContent = text;
      box.dataset.state = answer.body.status;
      if (finished(answer.body.status)) {
        await showResult();
      } else {
        window.setTimeout(tick, POLL_MS);
      }
    }

    if (!finished(box.dataset.state)) window.setTimeout(tick, POLL_MS);
  }

  // --- the instructor's gradebook -----------------------------------------------------------

  function gradebook(table) {
    const note = document.getElementById("gradebook-note");
    const body = table.tBodies[0];
    let last = null;

    function row(r) {
      const link = el("a", { href: "/instructor/students/" + encodeURIComponent(r.student_id) }, [r.student_id]);
      const when = r.last_submission
        ? el("time", { datetime: r.last_submission }, [r.last_submission])
        : "–";
      const score = r.score === null ? "–" : num(r.score) + " / " + num(r.max_score);
      return el("tr", { "data-student": r.student_id }, [
        el("th", { scope: "row" }, [link]),
        el("td", {}, [r.name]),
        el("td", {}, [table.dataset[r.status] || r.status]),
        el("td", { class: "num" }, [score]),
        el("td", { class: "num" }, [r.late_days]),
        el("td", { class: "num" }, [r.attempts]),
        el("td", {}, [when]),
      ]);
    }

    async function tick() {
      try {
        const answer = await call(table.dataset.poll);
        if (answer.ok) {
          const text = JSON.stringify(answer.body.rows);
          if (text !== last) {
            body.replaceChildren(...answer.body.rows.map(row));
            localTimes(body);
            if (last !== null) note.textContent = table.dataset.updated;
            last = text;
          }
        }
      } catch (error) {
        // The next tick tries again.
      }
      if (!document.hidden) window.setTimeout(tick, GRADEBOOK_MS);
      else document.addEventListener("visibilitychange", () => tick(), { once: true });
    }

    tick();
  }

  // --- the regrade panel --------------------------------------------------------------------

  function regradePanel(panel) {
    const start = panel.querySelector("form[data-start]");
    const publish = panel.querySelector("form[data-publish]");
    const progress = panel.querySelector("[data-progress-text]");
    const problem = panel.querySelector("[data-error]");
    const changes = panel.querySelector("[data-changes]");
    let current = panel.dataset.regrade || null;

    function showError(detail) {
      problem.textContent = detail;
      problem.hidden = false;
    }

    // Which parts moved and why (regrade.summary's "parts" and "reasons"), as plain text.
    function why(c) {
      const parts = (c.parts || []).map((p) =>
        p.part + " " + (p.delta > 0 ? "+" : "") + num(p.delta) +
        (p.reasons && p.reasons.length ? " (" + p.reasons.join("; ") + ")" : ""));
      const reasons = (c.reasons || []).join("; ");
      return [parts.join(", "), reasons].filter((x) => x).join(" · ");
    }

    function table(summary) {
      const d = panel.dataset;
      const parts = [];
      if (summary.changes.length) {
        const head = el("tr", {}, [d.colStudent, d.colBefore, d.colAfter, d.colDelta, d.colWhy].map(
          (label) => el("th", { scope: "col" }, [label]),
        ));
        const rows = summary.changes.map((c) =>
          el("tr", {}, [
            el("th", { scope: "row" }, [c.student_id]),
            el("td", { class: "num" }, [num(c.before)]),
            el("td", { class: "num" }, [num(c.after)]),
            el("td", { class: "num" }, [(c.delta > 0 ? "+" : "") + num(c.delta)]),
            el("td", {}, [why(c)]),
          ]),
        );
        parts.push(el("table", {}, [el("caption", {}, [d.caption]), el("thead", {}, [head]), el("tbody", {}, rows)]));
      } else {
        parts.push(el("p", {}, [d.noChanges]));
      }
      parts.push(el("p", { class: "meta" }, [fill(d.unchanged, { n: summary.unchanged })]));
      return parts;
    }

    function show(summary) {
      const d = panel.dataset;
      progress.textContent = summary.published
        ? fill(d.published, { id: summary.id })
        : fill(d.progress, { id: summary.id, finished: summary.finished, total: summary.total });
      changes.replaceChildren(...table(summary));
      start.hidden = !summary.published;
      publish.hidden = summary.published;
      publish.action = "/instructor/regrades/" + encodeURIComponent(summary.id) + "/publish";
      publish.querySelector("button").disabled = summary.finished < summary.total;
    }

    async function poll() {
      if (current === null) return;
      const answer = await call("/api/regrades/" + encodeURIComponent(current)).catch(() => null);
      if (answer && answer.ok) {
        show(answer.body);
        if (answer.body.published) {
          current = null;
          return;
        }
      }
      window.setTimeout(poll, POLL_MS);
    }

    start.addEventListener("submit", async (event) => {
      event.preventDefault();
      problem.hidden = true;
      const answer = await call("/api/regrades", {
        method: "POST",
        body: JSON.stringify({ homework: panel.dataset.homework }),
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf() },
      }).catch(() => null);
      if (answer && answer.status === 202) {
        current = String(answer.body.id);
        poll();
      } else {
        showError(answer ? answer.body.detail || String(answer.status) : "");
      }
    });

    publish.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (current === null) return;
      problem.hidden = true;
      const answer = await call("/api/regrades/" + encodeURIComponent(current) + "/publish", {
        method: "POST",
        headers: { "X-CSRF-Token": csrf() },
      }).catch(() => null);
      if (answer && answer.ok) {
        const id = current;
        const summary = await call("/api/regrades/" + encodeURIComponent(id));
        if (summary.ok) show(summary.body);
        current = null;
      } else {
        showError(answer ? answer.body.detail || String(answer.status) : "");
      }
    });

    poll();
  }

  // --- wiring -------------------------------------------------------------------------------

  function main() {
    localTimes(document);
    const form = document.getElementById("upload");
    if (form) upload(form);
    const box = document.getElementById("live");
    if (box) live(box);
    const table = document.getElementById("gradebook");
    if (table) gradebook(table);
    const panel = document.getElementById("regrade");
    if (panel) regradePanel(panel);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", main);
  else main();
})();

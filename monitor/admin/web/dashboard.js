// The live dashboard of the admin API: reads /admin/v1, streams its events,
// draws the monitor's series with the vendored uPlot. No storage: the admin
// token lives in this closure only.
(function () {
  "use strict";
  const base = document.querySelector('meta[name="admin-base"]').content;
  const $ = (id) => document.getElementById(id);
  let token = "";
  let range = "1h";
  const charts = {};
  const state = { events: 0, refreshes: 0, series: null, status: null, connected: false, streams: 0 };
  window.bumbaDashboard = { state, charts };

  // ---- API ----
  function headers(extra) {
    const h = Object.assign({ Accept: "application/json" }, extra || {});
    if (token) h.Authorization = "Bearer " + token;
    return h;
  }
  async function api(path, opts) {
    opts = opts || {};
    const res = await fetch(path.startsWith("/") ? base + path : path, {
      method: opts.method || "GET",
      headers: headers(opts.body ? { "Content-Type": "application/json" } : {}),
      body: opts.body ? JSON.stringify(opts.body) : undefined,
      cache: "no-store",
    });
    const text = await res.text();
    let body = null;
    if ((res.headers.get("Content-Type") || "").startsWith("application/json")) {
      try { body = JSON.parse(text); } catch (e) { body = null; }
    }
    if (!res.ok) {
      const msg = body && body.error ? body.error : text || res.statusText;
      const err = new Error(res.status + ": " + msg);
      err.status = res.status;
      throw err;
    }
    return body !== null ? body : text;
  }

  // ---- formatting ----
  const num = (v, d) => (v === null || v === undefined || !isFinite(v) ? "—" : Number(v).toFixed(d));
  const pct = (v, d) => (v === null || v === undefined || !isFinite(v) ? "—" : (100 * v).toFixed(d === undefined ? 1 : d) + " %");
  const ms = (v) => (v === null || v === undefined || !isFinite(v) ? "—" : v >= 1000 ? (v / 1000).toFixed(2) + " s" : v.toFixed(0) + " ms");
  const mb = (v) => (v === null || v === undefined || !isFinite(v) ? "—" : (v / 1048576).toFixed(1) + " MB");
  const dur = (msv) => {
    if (!isFinite(msv)) return "—";
    const s = Math.round(msv / 1000);
    if (s < 120) return s + " s";
    if (s < 7200) return Math.round(s / 60) + " min";
    return (s / 3600).toFixed(1) + " h";
  };
  const when = (t) => { if (!t) return ""; const d = new Date(t); return isNaN(d) ? String(t) : d.toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z"); };
  function set(id, text, value) {
    const el = $(id);
    el.textContent = text;
    if (value !== undefined) el.dataset.value = value === null ? "" : String(value);
    return el;
  }
  function el(tag, attrs, text) {
    const e = document.createElement(tag);
    for (const k in attrs || {}) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }

  // ---- at a glance ----
  function renderStatus(st) {
    state.status = st;
    $("replica").textContent = (st.replica ? "replica " + st.replica + " · " : "") + "up " + dur(st.uptimeMs) + " · " + when(st.now);
    if (st.health) {
      const s = set("status", st.health.status, st.health.status);
      s.dataset.status = st.health.status;
      set("score", num(st.health.score, 1), st.health.score);
    }
    set("mode", st.mode || "—", st.mode || "");
    set("percentage", st.mode ? num(st.percentage, 0) + " %" : "—", st.percentage);
    if (st.pool) {
      set("warm", String(st.pool.warm), st.pool.warm);
      set("total", String(st.pool.specialists), st.pool.specialists);
      $("spec-detail").textContent = "warm cap " + st.pool.maxWarm + " · queue " + st.pool.queueDepth;
    }
    const ro = st.rollout;
    if (ro) {
      set("step", ro.step, ro.step);
      $("step-detail").textContent = "step " + (ro.index + 1) + " of " + ro.steps + " · " + ro.phase + " · " + ro.state +
        (ro.reason ? " (" + ro.reason + ")" : "") + " · routes " + ro.mode + " " + num(ro.percentage, 0) + " %";
      const soak = $("soak");
      soak.max = Math.max(ro.soakMs, 1);
      soak.value = Math.min(ro.soakedMs, ro.soakMs);
      soak.dataset.value = ro.soakMs > 0 ? String(ro.soakedMs / ro.soakMs) : "1";
      $("soak-text").textContent = dur(ro.soakedMs) + " of " + dur(ro.soakMs) + (ro.remainingMs > 0 ? ", " + dur(ro.remainingMs) + " left" : "");
      const body = $("gate");
      body.replaceChildren();
      // A failed gate restarts the soak and the status then has no gate:
      // the last decision's evaluation is shown instead (refreshStatus).
      const gate = ro.gate || ro.lastGate;
      const checks = (gate && gate.checks) || [];
      $("gate-note").textContent = !ro.gate && ro.lastGate ? "Last evaluation, " + when(ro.lastGateAt) + ": failed, the soak restarted." : "";
      if (!checks.length) {
        const tr = el("tr");
        tr.append(el("td", { colspan: "3", class: "muted" }, gate ? "no criteria" : ro.state === "rolled_back" ? "not evaluated: rolled back" : "not evaluated yet"));
        body.append(tr);
      }
      for (const c of checks) {
        const tr = el("tr", { class: c.passed ? "pass" : "fail", "data-metric": c.metric });
        tr.append(el("td", { title: c.detail || "" }, c.metric.replace(/_/g, " ")), el("td", { "data-value": String(c.value) }, c.hasData ? fmtCheck(c.metric, c.value) : "no data"),
          el("td", {}, c.op + " " + fmtCheck(c.metric, c.threshold)));
        body.append(tr);
      }
    } else {
      set("step", "no rollout controller");
    }
    const list = $("alerts");
    list.replaceChildren();
    const alerts = st.alerts || [];
    for (const a of alerts) {
      const li = el("li", { class: a.severity, "data-rule": a.rule });
      li.append(el("strong", {}, a.severity + " "), document.createTextNode(a.message + " (" + a.rule + ", " + num(a.value, 3) + ")"));
      list.append(li);
    }
    if (!alerts.length) list.append(el("li", { class: "muted" }, "none"));
    const c = set("alert-count", String(alerts.length), alerts.length);
    c.classList.toggle("on", alerts.length > 0);
    if (st.mode && document.activeElement !== $("pct")) $("pct").placeholder = num(st.percentage, 0);
  }
  function fmtCheck(metric, v) {
    if (/rate|accuracy|share|efficiency|usage/i.test(metric) && !/latency/i.test(metric)) return pct(v, 2);
    if (/latency|ratio/i.test(metric)) return num(v, 2) + "×";
    return num(v, 3);
  }
  function renderHealth(hr) {
    const list = $("components");
    list.replaceChildren();
    const comps = (hr.components || []).filter((c) => c.hasData);
    const total = comps.reduce((s, c) => s + c.weight, 0) || 1;
    comps.sort((a, b) => b.weight * (1 - b.score) - a.weight * (1 - a.score));
    for (const c of comps) {
      const lost = (100 * c.weight * (1 - c.score)) / total;
      const li = el("li", { class: c.score < 0.5 ? "low" : c.score < 0.9 ? "mid" : "", "data-component": c.name });
      li.append(el("span", {}, c.name + " " + fmtComponent(c.name, c.value)), el("span", { class: "muted" }, lost > 0.05 ? "−" + lost.toFixed(1) : "ok"));
      const bar = el("span", { class: "bar", role: "img", "aria-label": c.name + " scores " + Math.round(100 * c.score) + " %" });
      const fill = el("span");
      fill.style.width = Math.round(100 * c.score) + "%";
      bar.append(fill);
      li.append(bar);
      list.append(li);
    }
    if (!comps.length) list.append(el("li", { class: "muted" }, "no data yet"));
  }
  function fmtComponent(name, v) {
    if (/time/i.test(name)) return ms(v);
    if (/queue/i.test(name)) return num(v, 0);
    return pct(v, 1);
  }

  // ---- rollbacks ----
  function renderRollbacks(list) {
    const ul = $("rollbacks");
    const open = new Set([...ul.querySelectorAll("li[data-open]")].map((li) => li.dataset.id));
    ul.replaceChildren();
    $("rb-empty").hidden = list.length > 0;
    for (const r of list.slice().reverse()) {
      const li = el("li", { "data-id": r.id });
      const started = r.startedAt || r.started_at;
      li.append(el("strong", {}, r.id + " "), document.createTextNode((r.kind || "") + " · " + (r.status || "") + " · " + when(started) +
        " · " + (r.trigger || "") + (r.automatic ? " (automatic)" : "") + ": " + (r.reason || "")));
      const btn = el("button", { type: "button", "aria-expanded": "false", "aria-controls": "an-" + r.id }, "Show analysis");
      btn.setAttribute("aria-label", "Show analysis of rollback " + r.id);
      const pre = el("pre", { id: "an-" + r.id, hidden: "" });
      btn.addEventListener("click", () => toggleAnalysis(li, btn, pre, r.id));
      li.append(document.createElement("br"), btn, pre);
      ul.append(li);
      if (open.has(r.id)) toggleAnalysis(li, btn, pre, r.id);
    }
  }
  async function toggleAnalysis(li, btn, pre, id) {
    if (btn.getAttribute("aria-expanded") === "true") {
      btn.setAttribute("aria-expanded", "false");
      btn.textContent = "Show analysis";
      pre.hidden = true;
      delete li.dataset.open;
      return;
    }
    btn.setAttribute("aria-expanded", "true");
    btn.textContent = "Hide analysis";
    li.dataset.open = "1";
    pre.hidden = false;
    pre.textContent = "loading…";
    try {
      pre.textContent = await api("/rollbacks/" + encodeURIComponent(id) + "/analysis?format=text");
    } catch (e) {
      pre.textContent = "analysis unavailable: " + e.message;
    }
  }

  // ---- charts ----
  const chartDefs = [
    { id: "hit", title: "Warm hit rate", series: [["warm_hit_rate", "warm hit rate", "#1a7f37"]], fmt: (v) => pct(v, 1), scale: 1 },
    { id: "mem", title: "Memory: current vs baseline", series: [["memory_current_bytes", "current", "#0b5cad"], ["memory_baseline_bytes", "baseline (all warm)", "#8a94a3"]], fmt: mb },
    { id: "lat", title: "Latency: intelligent vs legacy", series: [["response_time_ms", "intelligent", "#0b5cad"], ["legacy_response_time_ms", "legacy", "#b35900"]], fmt: ms },
    { id: "err", title: "Error rate", series: [["error_rate", "intelligent path", "#c62828"]], fmt: (v) => pct(v, 2) },
    { id: "queue", title: "Queue depth", series: [["queue_depth", "queue depth", "#6a3fb5"]], fmt: (v) => num(v, 1) },
    { id: "acc", title: "Prediction accuracy", series: [["prediction_accuracy", "accuracy", "#00838f"]], fmt: (v) => pct(v, 1) },
  ];
  const markColor = { rollback: "#c62828", mode: "#b35900", step: "#0b5cad" };

  function buildCharts() {
    const box = $("charts");
    for (const d of chartDefs) {
      const fig = el("figure", { class: "chart", id: "chart-" + d.id, "data-points": "0" });
      const cap = el("figcaption");
      cap.append(el("span", { id: "chart-" + d.id + "-title" }, d.title), el("span", { class: "latest", id: "chart-" + d.id + "-latest", "aria-live": "off" }, "—"));
      const plot = el("div", { class: "plot", role: "img", "aria-labelledby": "chart-" + d.id + "-title chart-" + d.id + "-latest" });
      fig.append(cap, plot);
      box.append(fig);
      charts[d.id] = { def: d, fig, plot, u: null, marks: [] };
    }
    const ro = new ResizeObserver(() => { for (const k in charts) { const c = charts[k]; if (c.u) c.u.setSize(size(c.plot)); } });
    ro.observe(box);
  }
  function size(plot) { return { width: Math.max(plot.clientWidth, 200), height: 180 }; }
  function drawMarks(c) {
    return (u) => {
      const ctx = u.ctx;
      ctx.save();
      ctx.lineWidth = 2 * (window.devicePixelRatio || 1);
      for (const m of c.marks) {
        const x = u.valToPos(new Date(m.at).getTime() / 1000, "x", true);
        if (!isFinite(x) || x < u.bbox.left || x > u.bbox.left + u.bbox.width) continue;
        ctx.strokeStyle = markColor[m.kind] || "#000";
        ctx.beginPath();
        ctx.moveTo(x, u.bbox.top);
        ctx.lineTo(x, u.bbox.top + u.bbox.height);
        ctx.stroke();
      }
      ctx.restore();
    };
  }
  function renderSeries(s) {
    state.series = s;
    for (const k in charts) {
      const c = charts[k];
      const d = c.def;
      const data = [s.times].concat(d.series.map(([m]) => (s.values[m] || []).map((v) => (v === null ? null : v))));
      c.marks = s.marks || [];
      let points = 0, latest = null;
      const first = data[1];
      for (let i = first.length - 1; i >= 0; i--) if (first[i] !== null) { if (latest === null) latest = first[i]; points++; }
      c.fig.dataset.points = String(points);
      c.fig.dataset.latest = latest === null ? "" : String(latest);
      c.fig.dataset.marks = String(c.marks.length);
      const parts = d.series.map(([m, label], i) => {
        const arr = data[i + 1];
        for (let j = arr.length - 1; j >= 0; j--) if (arr[j] !== null) return label + " " + d.fmt(arr[j]);
        return label + " —";
      });
      $("chart-" + k + "-latest").textContent = parts.join(" · ");
      if (typeof uPlot === "undefined") continue;
      if (!c.u) {
        const opts = Object.assign(size(c.plot), {
          legend: { show: true, live: false },
          cursor: { drag: { x: false, y: false } },
          scales: { x: { time: true }, y: { range: (u, lo, hi) => [Math.min(0, lo || 0), hi > 0 ? hi * 1.1 : 1] } },
          series: [{ label: "time" }].concat(d.series.map(([, label, color]) => ({ label, stroke: color, width: 2, spanGaps: false, points: { show: true, size: 3, fill: color }, value: (u, v) => d.fmt(v) }))),
          axes: [{}, { values: (u, vals) => vals.map((v) => d.fmt(v)), size: 70 }],
          hooks: { draw: [drawMarks(c)] },
        });
        c.u = new uPlot(opts, data, c.plot);
      } else {
        c.u.setData(data);
      }
    }
  }

  // ---- refreshing ----
  async function refreshStatus() {
    try {
      const st = await api("/status");
      if (st.rollout && !st.rollout.gate && st.rollout.state !== "rolled_back") {
        try {
          const ds = (await api("/rollout/decisions?limit=1")).decisions || [];
          const d = ds[ds.length - 1];
          if (d && d.gate && d.step === st.rollout.step) { st.rollout.lastGate = d.gate; st.rollout.lastGateAt = d.at; }
        } catch (e) { /* the status alone still shows */ }
      }
      renderStatus(st);
      try { renderHealth(await api("/health")); } catch (e) { if (e.status !== 501) throw e; }
      state.refreshes++;
    } catch (e) {
      readFailed(e);
    }
  }
  async function refreshRollbacks() {
    try {
      renderRollbacks((await api("/rollbacks")).rollbacks || []);
    } catch (e) {
      if (e.status === 501) { $("rb-empty").textContent = "No rollback manager."; return; }
      readFailed(e);
    }
  }
  async function refreshSeries() {
    try {
      renderSeries(await api("series?range=" + encodeURIComponent(range)));
    } catch (e) {
      if (e.status !== 501) readFailed(e);
    }
  }
  function readFailed(e) {
    if (e.status === 401 || e.status === 403) show("Reading needs the admin token: " + e.message, true);
    else show("Could not read the admin API: " + e.message, true);
  }
  const pending = {};
  function soon(what, fn) {
    if (pending[what]) return;
    pending[what] = setTimeout(() => { pending[what] = null; fn(); }, 150);
  }
  function refreshAll() { refreshStatus(); refreshRollbacks(); refreshSeries(); }

  // ---- live stream (fetch, so the token can be sent) ----
  let retry = 0;
  function live(stateName, text) {
    const l = $("live");
    l.dataset.state = stateName;
    l.textContent = text;
  }
  async function stream() {
    let got = false;
    try {
      const res = await fetch(base + "/events", { headers: headers({ Accept: "text/event-stream" }), cache: "no-store" });
      if (!res.ok) {
        let msg = res.statusText;
        try { msg = (await res.json()).error || msg; } catch (e) { /* not JSON */ }
        throw new Error(res.status + ": " + msg);
      }
      const reader = res.body.getReader();
      const dec = new TextDecoder();
      let buf = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) throw new Error("the server ended the stream");
        buf += dec.decode(value, { stream: true });
        let i;
        while ((i = buf.indexOf("\n\n")) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          if (onBlock(block) && !got) {
            got = true;
            retry = 0;
            state.connected = true;
            state.streams++;
            live("live", "Live");
          }
        }
      }
    } catch (e) {
      state.connected = false;
      const wait = [1, 2, 4, 8, 10][Math.min(retry, 4)];
      retry++;
      live("lost", "Live stream lost (" + (e && e.message ? e.message : "network error") + "). Reconnecting in " + wait + " s…");
      setTimeout(() => { live("connecting", "Reconnecting…"); stream(); }, wait * 1000);
    }
  }
  function onBlock(block) {
    let type = "message";
    const data = [];
    for (const line of block.split("\n")) {
      if (line.startsWith(":")) continue;
      const k = line.indexOf(":");
      const field = k < 0 ? line : line.slice(0, k);
      let val = k < 0 ? "" : line.slice(k + 1);
      if (val.startsWith(" ")) val = val.slice(1);
      if (field === "event") type = val;
      else if (field === "data") data.push(val);
    }
    if (!data.length) return false;
    let obj = null;
    try { obj = JSON.parse(data.join("\n")); } catch (e) { return false; }
    state.events++;
    switch (type) {
      case "hello":
        renderStatus(obj);
        refreshAll();
        break;
      case "sample":
        soon("status", refreshStatus);
        soon("series", refreshSeries);
        break;
      case "alert":
        soon("status", refreshStatus);
        break;
      case "rollback":
        soon("rollbacks", refreshRollbacks);
        soon("status", refreshStatus);
        soon("series", refreshSeries);
        break;
      default: // transition, decision, action
        soon("status", refreshStatus);
        soon("series", refreshSeries);
    }
    return true;
  }

  // ---- actions ----
  function show(text, isError) {
    const r = $("result");
    r.textContent = text;
    r.className = "result " + (isError ? "error" : "ok");
  }
  function reason() {
    const v = $("reason").value.trim();
    if (!v) { show("Give a reason first: every action is recorded with who and why.", true); $("reason").focus(); }
    return v;
  }
  function needToken() {
    if (token) return false;
    show("Set the admin token first.", true);
    $("token").focus();
    return true;
  }
  async function act(path, body, what) {
    try {
      const res = await api(path, { method: "POST", body });
      const a = res.action || {};
      show("Done: " + what + (a.rollback ? " (rollback " + a.rollback + ")" : "") + (a.after && a.after.mode ? " — now " + a.after.mode + " " + num(a.after.percentage, 0) + " %" : ""), false);
      refreshAll();
      return true;
    } catch (e) {
      show(what + " refused: " + e.message, true);
      return false;
    }
  }
  function wire() {
    $("token-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      token = $("token").value.trim();
      $("token").value = "";
      $("token-state").textContent = token ? "Token set (in memory only)." : "No token set.";
      refreshAll();
    });
    $("pct-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      if (needToken()) return;
      const r = reason(); if (!r) return;
      const p = Number($("pct").value);
      if ($("pct").value === "" || !(p >= 0 && p <= 100)) { show("The percentage must be 0 to 100.", true); $("pct").focus(); return; }
      act("/percentage", { percentage: p, reason: r }, "set percentage " + p + " %");
    });
    for (const [id, path] of [["hold", "/rollout/hold"], ["resume", "/rollout/resume"], ["advance", "/rollout/advance"]]) {
      $(id).addEventListener("click", () => {
        if (needToken()) return;
        const r = reason(); if (!r) return;
        act(path, { reason: r }, id);
      });
    }
    $("emergency").addEventListener("click", () => {
      if (needToken()) return;
      const r = reason(); if (!r) return;
      $("confirm-text").textContent = "Every command goes to the legacy system at once (fallback mode). Reason: " + r;
      $("confirm").hidden = false;
      $("confirm-no").focus();
    });
    $("confirm-no").addEventListener("click", () => { $("confirm").hidden = true; show("Emergency rollback cancelled.", false); $("emergency").focus(); });
    $("confirm-yes").addEventListener("click", async () => {
      const r = reason(); if (!r) return;
      $("confirm").hidden = true;
      await act("/rollbacks/emergency", { reason: r, confirm: true }, "emergency rollback");
    });
    for (const b of document.querySelectorAll("#ranges button")) {
      b.addEventListener("click", () => {
        range = b.dataset.range;
        for (const o of document.querySelectorAll("#ranges button")) o.setAttribute("aria-checked", String(o === b));
        refreshSeries();
      });
    }
  }

  buildCharts();
  wire();
  refreshAll();
  stream();
  // Uptime and soak progress move between events too.
  setInterval(() => { if (!document.hidden) refreshStatus(); }, 15000);
})();

// SPDX-License-Identifier: MIT
// The operations console's page: login, the live alert board over Server-Sent
// Events, acknowledgement, alert detail, gauges and rejected messages. Every text
// from the server is put into the page with textContent, never as HTML.
"use strict";
(function () {
  const $ = id => document.getElementById(id);
  const SEV_ORDER = {critical: 0, warning: 1, info: 2};
  const SEV_ICON = {critical: "▲▲", warning: "▲", info: "ℹ"};
  // The field a gauge shows per event type; others show their first aggregated field.
  const MAIN_FIELD = {"sensor.waterlevel": "value", "sensor.airquality": "pm10",
    "sensor.parking": "available", "sensor.wastebin": "fill", "sensor.peoplecount": "count",
    "sensor.soil": "moisture", "service.transit": "delay_s"};
  const UNITS = {"sensor.waterlevel": "cm", "sensor.airquality": "µg/m³", "sensor.soil": "%",
    "service.transit": "s"};

  const state = {
    lang: "de", user: null, csrf: null, source: null, view: "alerts",
    alerts: new Map(), recent: [], ackTopic: null, ackId: null, audio: null,
  };

  // --- language, times ----------------------------------------------------------------
  function t(key, params) {
    const dict = I18N[state.lang] || I18N.de;
    let s = dict[key] !== undefined ? dict[key] : (I18N.de[key] !== undefined ? I18N.de[key] : key);
    for (const k in (params || {})) s = s.split("{" + k + "}").join(String(params[k]));
    return s;
  }
  function locale() { return state.lang === "de" ? "de-DE" : "en-GB"; }
  function fmtTime(iso) {
    if (!iso) return "";
    const d = new Date(typeof iso === "number" ? iso : iso);
    if (isNaN(d)) return String(iso);
    return new Intl.DateTimeFormat(locale(), {timeZone: "Europe/Berlin", day: "2-digit",
      month: "2-digit", year: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit"}).format(d);
  }
  function fmtShort(ms) {
    return new Intl.DateTimeFormat(locale(), {timeZone: "Europe/Berlin", day: "2-digit",
      month: "2-digit", hour: "2-digit", minute: "2-digit"}).format(new Date(ms));
  }
  function fmtNum(v) {
    if (typeof v !== "number") return v === null || v === undefined ? "–" : String(v);
    return new Intl.NumberFormat(locale(), {maximumFractionDigits: 2}).format(v);
  }
  function applyLang() {
    document.documentElement.lang = state.lang;
    $("lang").value = state.lang;
    for (const e of document.querySelectorAll("[data-i18n]")) e.textContent = t(e.dataset.i18n);
    for (const e of document.querySelectorAll("[data-i18n-label]"))
      e.setAttribute("aria-label", t(e.dataset.i18nLabel));
    document.title = t("title");
    if (state.user) $("who").textContent = t("loggedInAs", {user: state.user});
    renderAlerts();
    if (state.view === "gauges") loadGauges();
    if (state.view === "detail") route();
  }

  // --- small DOM helpers ----------------------------------------------------------------
  function h(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const k in (attrs || {})) {
      if (k === "class") e.className = attrs[k];
      else if (k === "text") e.textContent = attrs[k];
      else e.setAttribute(k, attrs[k]);
    }
    for (const k of kids) if (k !== null && k !== undefined)
      e.appendChild(typeof k === "string" ? document.createTextNode(k) : k);
    return e;
  }
  function say(text) { $("live").textContent = ""; setTimeout(() => { $("live").textContent = text; }, 50); }
  function errorText(body, status) {
    if (!body || !body.error) return t("err_generic", {msg: "HTTP " + status});
    const key = "err_" + body.error;
    const params = {msg: body.message || "", role: body.role || "?", s: body.retry || "?"};
    return I18N.de[key] ? t(key, params) : t("err_generic", params);
  }

  // --- HTTP ------------------------------------------------------------------------------
  async function api(path, opts) {
    opts = opts || {};
    const init = {method: opts.method || "GET", credentials: "same-origin", headers: {}};
    if (opts.body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(opts.body);
    }
    if (init.method === "POST" && state.csrf) init.headers["X-CSRF-Token"] = state.csrf;
    const res = await fetch("/api" + path, init);
    let body = null;
    try { body = await res.json(); } catch (e) { body = null; }
    if (body && res.status === 429) body.retry = res.headers.get("Retry-After");
    if (res.status === 401 && path !== "/login") loggedOut(t("err_no_session"));
    return {status: res.status, ok: res.ok, body};
  }

  // --- views -----------------------------------------------------------------------------
  function show(view) {
    state.view = view;
    for (const v of ["login", "alerts", "detail", "gauges", "dead"])
      $("view-" + v).hidden = v !== view;
    for (const [id, v] of [["nav-alerts", "alerts"], ["nav-gauges", "gauges"], ["nav-dead", "dead"]]) {
      if (v === view || (view === "detail" && v === "alerts")) $(id).setAttribute("aria-current", "page");
      else $(id).removeAttribute("aria-current");
    }
  }
  function route() {
    if (!state.user) { show("login"); return; }
    const hash = location.hash.replace(/^#/, "");
    if (hash.startsWith("alert=")) { showDetail(hash.slice(6)); return; }
    if (hash === "gauges") { show("gauges"); loadGauges(); return; }
    if (hash === "deadletters") { show("dead"); loadDead(); return; }
    show("alerts");
  }

  // --- login -----------------------------------------------------------------------------
  async function login(ev) {
    ev.preventDefault();
    const err = $("login-error");
    err.textContent = "";
    const user = $("login-user").value.trim(), password = $("login-password").value;
    if (!user || !password) { err.textContent = t("err_bad_request"); return; }
    unlockAudio();
    $("login-submit").disabled = true;
    try {
      const r = await api("/login", {method: "POST", body: {user, password}});
      if (!r.ok) { err.textContent = errorText(r.body, r.status); return; }
      $("login-password").value = "";
      loggedIn(r.body.user, r.body.csrf);
    } catch (e) {
      err.textContent = t("err_broker_unreachable");
    } finally {
      $("login-submit").disabled = false;
    }
  }
  function loggedIn(user, csrf) {
    state.user = user;
    state.csrf = csrf;
    $("who").textContent = t("loggedInAs", {user});
    $("logout").hidden = false;
    $("nav").hidden = false;
    $("notify").hidden = !("Notification" in window) || Notification.permission !== "default";
    connect();
    route();
    $("main").focus();
  }
  function loggedOut(message) {
    state.user = state.csrf = null;
    if (state.source) { state.source.close(); state.source = null; }
    state.alerts.clear();
    state.recent = [];
    $("who").textContent = "";
    $("logout").hidden = true;
    $("nav").hidden = true;
    show("login");
    $("login-error").textContent = message || "";
  }
  async function logout() {
    await api("/logout", {method: "POST", body: {}});
    loggedOut("");
  }

  // --- live stream -------------------------------------------------------------------------
  function connect() {
    if (state.source) state.source.close();
    const es = new EventSource("/api/events");
    state.source = es;
    es.addEventListener("open", () => setConn(true));
    es.addEventListener("error", async () => {
      setConn(false);
      if (es.readyState === EventSource.CLOSED && state.user) {
        const r = await api("/session");
        if (r.ok) setTimeout(connect, 1000);
      }
    });
    es.addEventListener("snapshot", ev => {
      const snap = JSON.parse(ev.data);
      state.alerts.clear();
      for (const a of snap.alerts) state.alerts.set(a.topic, a);
      state.recent = snap.recent;
      renderAlerts();
    });
    es.addEventListener("alert", ev => onAlert(JSON.parse(ev.data)));
    es.addEventListener("removed", ev => {
      // An alert's topic (held, or cleared in the recent list), or an aggregate's: the
      // gauges are read again.
      const topic = JSON.parse(ev.data).topic, recent = state.recent.length;
      state.recent = state.recent.filter(r => r.topic !== topic);
      if (state.alerts.delete(topic) || state.recent.length !== recent) renderAlerts();
      else if (state.view === "gauges") onAggregate();
    });
    es.addEventListener("aggregate", ev => { if (state.view === "gauges") onAggregate(JSON.parse(ev.data)); });
  }
  function setConn(live) {
    const c = $("conn");
    c.textContent = live ? "● " + t("connLive") : "○ " + t("connLost");
    c.className = "conn " + (live ? "live" : "lost");
  }
  function onAlert(a) {
    const before = state.alerts.get(a.topic);
    if (a.state === "cleared") {
      state.alerts.delete(a.topic);
      state.recent = [a].concat(state.recent.filter(r => r.id !== a.id)).slice(0, 50);
      say(t("state_cleared") + ": " + a.message);
    } else {
      state.alerts.set(a.topic, a);
      const newly = !before || before.severity !== a.severity || before.id !== a.id;
      if (a.severity === "critical" && a.state === "active" && newly) announce(a);
      else if (!before) say(t("sev_" + a.severity) + ": " + a.message);
    }
    renderAlerts();
  }
  function announce(a) {
    const box = $("announce");
    box.textContent = "";
    box.appendChild(h("strong", {text: SEV_ICON.critical + " " + t("newCritical", {msg: a.message})}));
    box.hidden = false;
    beep();
    if ("Notification" in window && Notification.permission === "granted") {
      try { new Notification(t("title"), {body: a.message, tag: a.topic}); } catch (e) { /* not allowed here */ }
    }
  }
  function unlockAudio() {
    try {
      if (!state.audio && window.AudioContext) state.audio = new AudioContext();
      if (state.audio && state.audio.state === "suspended") state.audio.resume();
    } catch (e) { state.audio = null; }
  }
  function beep() {
    const ctx = state.audio;
    if (!ctx || ctx.state !== "running") return;
    for (let i = 0; i < 3; i++) {
      const o = ctx.createOscillator(), g = ctx.createGain();
      o.frequency.value = 880;
      g.gain.value = 0.15;
      o.connect(g); g.connect(ctx.destination);
      o.start(ctx.currentTime + i * 0.3);
      o.stop(ctx.currentTime + i * 0.3 + 0.18);
    }
  }

  // --- the board ---------------------------------------------------------------------------
  function sevBadge(sev) {
    return h("span", {class: "sev sev-" + sev}, h("span", {"aria-hidden": "true", text: (SEV_ICON[sev] || "•") + " "}),
      t("sev_" + sev));
  }
  function alertItem(a, recent) {
    const li = h("li", {class: "alert sev-" + a.severity + " state-" + a.state,
      "data-topic": a.topic, "data-state": a.state, "data-id": a.id});
    const head = h("div", {class: "alert-head"}, sevBadge(a.severity),
      h("span", {class: "state", text: t("state_" + a.state)}),
      h("span", {class: "rule", text: a.rule}));
    const title = h("h3", {class: "msg", text: a.message || a.rule});
    const facts = h("dl", {class: "facts"},
      h("dt", {text: t("subject")}), h("dd", {class: "subject", text: a.subject}),
      h("dt", {text: t("town")}), h("dd", {text: a.municipality}),
      h("dt", {text: t("value")}), h("dd", {text: fmtNum(a.value) + (a.threshold !== null && a.threshold !== undefined ? " / " + t("threshold") + " " + fmtNum(a.threshold) : "")}),
      h("dt", {text: recent ? t("state_cleared") : t("raised")}),
      h("dd", {text: recent ? fmtTime(a.cleared_at) : fmtTime(a.raised_at)}));
    li.append(head, title, facts);
    if (a.acked_by) li.appendChild(h("p", {class: "acked", text: "✓ " + t("ackedBy", {by: a.acked_by})}));
    const buttons = h("div", {class: "buttons"});
    if (!recent && a.state === "active") {
      const b = h("button", {type: "button", class: "ack", text: t("ackButton")});
      b.setAttribute("aria-label", t("ackButton") + ": " + (a.message || a.rule));
      b.addEventListener("click", () => openAck(a));
      buttons.appendChild(b);
    }
    const d = h("a", {href: "#alert=" + encodeURIComponent(a.topic) + "|" + encodeURIComponent(a.id),
      class: "details", text: t("details")});
    d.setAttribute("aria-label", t("details") + ": " + (a.message || a.rule));
    buttons.appendChild(d);
    li.appendChild(buttons);
    return li;
  }
  // Cards are kept while their alert is unchanged, so that a change elsewhere on the
  // board neither moves the keyboard focus nor replaces what the person is looking at.
  const cards = new Map();
  function cachedItem(a, recent) {
    const key = (recent ? "r:" : "a:") + a.topic + "|" + a.id;
    const json = state.lang + JSON.stringify(a);
    const hit = cards.get(key);
    if (hit && hit.json === json) { hit.used = true; return hit.el; }
    const el = alertItem(a, recent);
    cards.set(key, {json, el, used: true});
    return el;
  }
  function place(list, els) {
    els.forEach((el, i) => { if (list.children[i] !== el) list.insertBefore(el, list.children[i] || null); });
    while (list.children.length > els.length) list.lastChild.remove();
  }
  function renderAlerts() {
    for (const c of cards.values()) c.used = false;
    const list = $("alert-list"), recent = $("recent-list");
    const alerts = Array.from(state.alerts.values()).sort((a, b) =>
      (SEV_ORDER[a.severity] ?? 9) - (SEV_ORDER[b.severity] ?? 9) ||
      (a.state === b.state ? 0 : a.state === "active" ? -1 : 1) ||
      String(b.raised_at).localeCompare(String(a.raised_at)));
    place(list, alerts.map(a => cachedItem(a, false)));
    place(recent, state.recent.map(a => cachedItem(a, true)));
    for (const [k, c] of cards) if (!c.used) cards.delete(k);
    $("alert-count").textContent = "(" + alerts.length + ")";
    $("no-alerts").hidden = alerts.length > 0;
    $("no-recent").hidden = state.recent.length > 0;
  }

  // --- acknowledge -------------------------------------------------------------------------
  function openAck(a) {
    state.ackTopic = a.topic;
    state.ackId = a.id;  // the alert the person sees: not the next one of this topic
    $("ack-what").textContent = a.message || a.topic;
    $("ack-comment").value = "";
    $("ack-error").textContent = "";
    $("ack-dialog").showModal();
    $("ack-comment").focus();
  }
  async function sendAck(ev) {
    ev.preventDefault();
    $("ack-send").disabled = true;
    try {
      const r = await api("/ack", {method: "POST",
        body: {topic: state.ackTopic, alert_id: state.ackId, comment: $("ack-comment").value}});
      if (!r.ok) { $("ack-error").textContent = errorText(r.body, r.status); return; }
      $("ack-dialog").close();
      say(t("ackSent"));
    } finally {
      $("ack-send").disabled = false;
    }
  }

  // --- detail ------------------------------------------------------------------------------
  function changeKind(prev, c) {
    if (!prev) return "raised";
    if (c.state === "cleared") return "cleared";
    if (c.state === "acknowledged" && prev.state !== "acknowledged") return "acknowledged";
    if ((SEV_ORDER[c.severity] ?? 9) < (SEV_ORDER[prev.severity] ?? 9)) return "escalated";
    // Nothing changed but the time: the rule's reminder while nobody acknowledged it.
    if (c.state === prev.state && c.value === prev.value && c.severity === prev.severity) return "renotified";
    return "updated";
  }
  async function showDetail(param) {
    show("detail");
    const [topicEnc, idEnc] = param.split("|");
    const topic = decodeURIComponent(topicEnc || ""), id = decodeURIComponent(idEnc || "");
    const live = state.alerts.get(topic) || state.recent.find(r => r.id === id);
    $("detail-h").textContent = live ? live.message : topic;
    $("detail-error").textContent = "";
    const facts = $("detail-facts");
    facts.replaceChildren();
    if (live) {
      for (const [k, v] of [["rule", live.rule], ["subject", live.subject], ["town", live.municipality],
        ["value", fmtNum(live.value)], ["threshold", fmtNum(live.threshold)], ["raised", fmtTime(live.raised_at)]])
        facts.append(h("dt", {text: t(k)}), h("dd", {text: v}));
      facts.append(h("dt", {text: t("colSeverity")}), h("dd", {}, sevBadge(live.severity)));
    }
    const tbody = $("detail-history").querySelector("tbody");
    tbody.replaceChildren();
    $("detail-chart").replaceChildren();
    const r = await api("/alert?topic=" + encodeURIComponent(topic) + "&id=" + encodeURIComponent(id));
    if (!r.ok) { $("detail-error").textContent = errorText(r.body, r.status); return; }
    let prev = null;
    for (const c of r.body.changes) {
      const kind = changeKind(prev, c);
      tbody.appendChild(h("tr", {}, h("td", {text: fmtTime(c.updated_at)}), h("td", {text: t("ch_" + kind)}),
        h("td", {}, sevBadge(c.severity)), h("td", {text: fmtNum(c.value)}), h("td", {text: c.acked_by || ""})));
      prev = c;
    }
    drawDetailChart(r.body, live || prev);
  }
  function drawDetailChart(d, a) {
    const fig = $("detail-chart");
    const points = (d.values || []).map(p => ({t: Date.parse(p.time), v: p.v})).filter(p => !isNaN(p.t));
    const caption = h("figcaption", {text: t("chartTitle", {subject: a ? a.subject : ""})});
    if (!points.length) { fig.replaceChildren(caption, h("p", {class: "empty", text: t("chartNone")})); return; }
    const levels = (d.levels || []).map(l => ({at: l.at, severity: l.severity,
      label: t("chartLevel", {sev: t("sev_" + l.severity), at: fmtNum(l.at)})}));
    if (typeof d.clear === "number") levels.push({at: d.clear, severity: "", label: t("chartClear", {at: fmtNum(d.clear)})});
    const marks = [];
    if (a && a.raised_at) marks.push({t: Date.parse(a.raised_at), label: t("ch_raised")});
    if (a && a.cleared_at) marks.push({t: Date.parse(a.cleared_at), label: t("ch_cleared")});
    const vals = points.map(p => p.v);
    const svg = Charts.lineChart({points, levels, marks: marks.filter(m => !isNaN(m.t)),
      title: t("chartTitle", {subject: a ? a.subject : ""}),
      desc: `${points.length} · min ${fmtNum(Math.min(...vals))} · max ${fmtNum(Math.max(...vals))}`,
      fmtValue: fmtNum, fmtTime: fmtShort});
    fig.replaceChildren(svg, caption);
  }

  // --- gauges ------------------------------------------------------------------------------
  const WINDOW_ORDER = ["1m", "5m", "15m", "1h", "1d"];
  function latestAggregate(windows) {
    let best = null;
    for (const w of Object.keys(windows)) {
      const a = windows[w];
      if (!best || String(a.end) > String(best.end) ||
          (a.end === best.end && WINDOW_ORDER.indexOf(w) < WINDOW_ORDER.indexOf(best.window))) best = a;
    }
    return best;
  }
  function mainField(type, stats) {
    if (MAIN_FIELD[type] && stats && stats[MAIN_FIELD[type]]) return MAIN_FIELD[type];
    return stats ? Object.keys(stats)[0] : null;
  }
  async function loadGauges() {
    const r = await api("/gauges");
    if (!r.ok) return;
    const groups = new Map();
    for (const g of r.body) {
      const key = g.type + " · " + g.municipality;
      if (!groups.has(key)) groups.set(key, {type: g.type, m: g.municipality, items: []});
      groups.get(key).items.push(g);
    }
    const root = $("gauge-groups");
    root.replaceChildren();
    $("gauges-empty").hidden = groups.size > 0;
    for (const [key, grp] of Array.from(groups).sort()) {
      const tbody = h("tbody");
      const table = h("table", {class: "gauges"},
        h("caption", {text: key}),
        h("thead", {}, h("tr", {}, h("th", {scope: "col", text: t("subject")}), h("th", {scope: "col", text: t("latest")}),
          h("th", {scope: "col", text: t("at")}), h("th", {scope: "col", text: t("trend")}))), tbody);
      grp.items.sort((a, b) => a.subject.localeCompare(b.subject));
      for (const g of grp.items) {
        const agg = latestAggregate(g.windows);
        const field = agg ? mainField(g.type, agg.stats) : null;
        const st = field && agg.stats ? agg.stats[field] : null;
        const isSilent = g.silent === true;
        const nameCell = h("th", {scope: "row", text: g.subject});
        if (isSilent) nameCell.appendChild(h("span", {class: "silent", title: t("silentLong"), text: " ⚠ " + t("silent")}));
        const value = st ? fmtNum(st.last ?? st.mean) + (UNITS[g.type] ? " " + UNITS[g.type] : "") + " (" + field + ")" :
          (agg && agg.count !== undefined ? agg.count + " ×" : "–");
        const spark = h("td", {class: "spark-cell", "data-key": g.municipality + "/" + g.subject});
        const tr = h("tr", {class: isSilent ? "is-silent" : "", "data-subject": g.subject},
          nameCell, h("td", {class: "num", text: value}), h("td", {text: agg ? fmtTime(agg.end) : ""}), spark);
        tbody.appendChild(tr);
      }
      root.appendChild(h("div", {class: "scroll"}, table));
      loadSeries(grp.type, table);
    }
  }
  async function loadSeries(type, table) {
    const r = await api("/series?type=" + encodeURIComponent(type));
    if (!r.ok) return;
    for (const cell of table.querySelectorAll(".spark-cell")) {
      const pts = r.body[cell.dataset.key] || [];
      const field = pts.length ? mainField(type, pts[pts.length - 1].stats) : null;
      const values = pts.map(p => p.stats && p.stats[field] ? p.stats[field].mean : null).filter(v => typeof v === "number");
      const subject = cell.dataset.key.split("/").slice(1).join("/");
      cell.replaceChildren(Charts.sparkline(values, t("sparkTitle", {subject})));
    }
  }
  let gaugeTimer = null;
  function onAggregate() {
    // Many windows close together: redraw once after they have arrived.
    clearTimeout(gaugeTimer);
    gaugeTimer = setTimeout(loadGauges, 1000);
  }

  // --- dead letters ------------------------------------------------------------------------
  async function loadDead(ev) {
    if (ev) ev.preventDefault();
    $("dead-error").textContent = "";
    const r = await api("/deadletters?prefix=" + encodeURIComponent($("dead-prefix").value.trim()));
    const table = $("dead-table"), tbody = table.querySelector("tbody");
    tbody.replaceChildren();
    if (!r.ok) { $("dead-error").textContent = errorText(r.body, r.status); table.hidden = true; return; }
    for (const d of r.body) {
      const ms = d.id ? Number(String(d.id).split("-")[0]) : NaN;
      const payload = h("code", {text: d.payload || ""});
      const reason = h("td", {}, h("strong", {text: d.reason || "?"}));
      if (d.detail) reason.appendChild(h("div", {class: "detail", text: d.detail}));
      const pl = h("td", {class: "payload"}, payload);
      if (d.payload_cut) pl.appendChild(h("span", {class: "cut", text: " " + t("cut")}));
      tbody.appendChild(h("tr", {}, h("td", {text: d.time ? fmtTime(d.time) : (isNaN(ms) ? "" : fmtTime(ms))}),
        h("td", {class: "topic", text: d.topic || ""}), reason, pl));
    }
    table.hidden = r.body.length === 0;
    $("dead-empty").hidden = r.body.length > 0;
  }

  // --- start -------------------------------------------------------------------------------
  async function start() {
    state.lang = localStorage.getItem("rheinhub-lang") || "de";
    $("lang").addEventListener("change", () => {
      state.lang = $("lang").value;
      localStorage.setItem("rheinhub-lang", state.lang);
      applyLang();
    });
    $("login-form").addEventListener("submit", login);
    $("logout").addEventListener("click", logout);
    $("ack-form").addEventListener("submit", sendAck);
    $("ack-cancel").addEventListener("click", () => $("ack-dialog").close());
    $("dead-form").addEventListener("submit", loadDead);
    $("announce").addEventListener("click", () => { $("announce").hidden = true; });
    $("notify").addEventListener("click", async () => {
      unlockAudio();
      try { await Notification.requestPermission(); } catch (e) { /* older browsers */ }
      $("notify").hidden = Notification.permission !== "default";
    });
    document.addEventListener("click", unlockAudio, {once: true});
    window.addEventListener("hashchange", route);
    applyLang();
    const r = await api("/session").catch(() => null);
    if (r && r.ok) loggedIn(r.body.user, r.body.csrf);
    else { show("login"); $("login-error").textContent = ""; }
  }
  start();
})();

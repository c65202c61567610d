// clockd's live page: history from /api/history (downsampled by clockd), then live states from /events.
"use strict";
(function () {
  const LIVE_SECONDS = 600;
  const STALE_SECONDS = 5;
  const COLORS = { status: "#a0a", falseticker: "#c22", step: "#d80", "source-stepped": "#d80", suspend: "#06c",
                   leap: "#990", restart: "#333", condition: "#888" };
  const $ = id => document.getElementById(id);
  let range = "live";
  let series = empty();
  let events = [];
  let lastStateAt = 0;
  let epsChart = null, offsetChart = null, offsetNames = "";

  function empty() { return { t: [], bound: [], boundMin: [], boundMax: [], offset: [], sources: {} }; }

  function fmt(ns) {
    if (ns === null || ns === undefined) return "–";
    const a = Math.abs(ns);
    if (a >= 1e9) return (ns / 1e9).toFixed(3) + " s";
    if (a >= 1e6) return (ns / 1e6).toFixed(3) + " ms";
    if (a >= 1e3) return (ns / 1e3).toFixed(1) + " µs";
    return ns + " ns";
  }
  const us = ns => (ns === null || ns === undefined) ? null : ns / 1e3;

  // Vertical lines at events, on both charts.
  const markEvents = {
    hooks: {
      draw: [u => {
        const ctx = u.ctx, top = u.bbox.top, height = u.bbox.height;
        ctx.save();
        ctx.lineWidth = 2 * devicePixelRatio;
        for (const e of events) {
          const x = u.valToPos(e.t, "x", true);
          if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) continue;
          ctx.strokeStyle = COLORS[e.kind] || "#666";
          ctx.beginPath(); ctx.moveTo(x, top); ctx.lineTo(x, top + height); ctx.stroke();
        }
        ctx.restore();
      }]
    }
  };

  // One label per decade of µs, thinned to at most 6, written as durations ("10 µs", "1 ms", "100 s").
  function decadeLabels(splits) {
    const decades = splits.filter(v => Math.abs(Math.log10(v) - Math.round(Math.log10(v))) < 1e-9);
    const every = Math.max(1, Math.ceil(decades.length / 6));
    return splits.map(v => {
      const d = decades.indexOf(v);
      if (d < 0 || d % every !== 0) return "";
      return v >= 1e9 ? `1e${Math.round(Math.log10(v / 1e6))} s` : fmt(v * 1e3).replace(/\.0+ /, " ");
    });
  }

  function width() { return Math.max(400, document.body.clientWidth - 40); }

  function draw() {
    const t = series.t;
    const epsData = [t, series.bound.map(us), series.boundMin.map(us), series.boundMax.map(us)];
    if (!epsChart) {
      epsChart = new uPlot({ width: width(), height: 240, plugins: [markEvents],
        series: [{}, { label: "ε (µs)", stroke: "#c60", width: 2 },
                 { label: "min in bucket", stroke: "#fb8", dash: [4, 4] },
                 { label: "max in bucket", stroke: "#fb8", dash: [4, 4] }],
        // ε spans decades (seconds unsynchronized, microseconds synchronized): a log scale shows both
        scales: { y: { distr: 3 } },
        axes: [{}, { size: 70, values: (u, splits) => decadeLabels(splits) }] }, epsData, $("epsChart"));
    } else {
      epsChart.setData(epsData);
    }
    const names = Object.keys(series.sources).sort();
    const upper = series.offset.map((o, i) => o === null || series.bound[i] === null ? null : us(o + series.bound[i]));
    const lower = series.offset.map((o, i) => o === null || series.bound[i] === null ? null : us(o - series.bound[i]));
    const offsetData = [t, upper, lower, series.offset.map(us)].concat(names.map(n => series.sources[n].offset.map(us)));
    if (!offsetChart || names.join("\n") !== offsetNames) {
      if (offsetChart) offsetChart.destroy();
      offsetNames = names.join("\n");
      offsetChart = new uPlot({ width: width(), height: 300, plugins: [markEvents],
        series: [{}, { label: "offset + ε", stroke: "rgba(40,160,40,.6)" }, { label: "offset − ε", stroke: "rgba(40,160,40,.6)" },
                 { label: "offset (µs)", stroke: "#222", width: 2 }]
          .concat(names.map((n, i) => ({ label: n, stroke: `hsl(${(i * 137) % 360},60%,45%)`, width: 1 }))),
        bands: [{ series: [1, 2], fill: "rgba(40,160,40,.15)" }],
        legend: { show: names.length <= 12 }, // 100 sources' legend would bury the chart; the table names them
        axes: [{}, { label: "µs" }] }, offsetData, $("offsetChart"));
    } else {
      offsetChart.setData(offsetData);
    }
    document.body.dataset.epsPoints = series.bound.filter(v => v !== null).length;
    document.body.dataset.offsetPoints = series.offset.filter(v => v !== null).length;
  }

  function fromHistory(h) {
    const s = { t: h.t, bound: h.boundNanos, boundMin: h.boundMinNanos, boundMax: h.boundMaxNanos, offset: h.offsetNanos,
                sources: {} };
    for (const [name, v] of Object.entries(h.sources)) s.sources[name] = { offset: v.offsetNanos };
    if (range === "live") { // live starts where data starts, not ten empty minutes earlier
      let first = 0;
      while (first < s.t.length && s.bound[first] === null) first++;
      for (const k of ["t", "bound", "boundMin", "boundMax", "offset"]) s[k] = s[k].slice(first);
      for (const v of Object.values(s.sources)) v.offset = v.offset.slice(first);
    }
    $("rangeNote").textContent = (h.journal ? "" : "no journal configured: only what clockd saw since it started. ")
      + (range === "live" ? "" : `one point per ${(h.bucketMillis / 1000).toFixed(1)} s`);
    return s;
  }

  function loadHistory() {
    const want = range;
    fetch("/api/history?range=" + (want === "live" ? LIVE_SECONDS : want))
      .then(r => r.ok ? r.json() : r.text().then(t => { throw new Error(t); }))
      .then(h => {
        if (want !== range) return;
        series = fromHistory(h);
        const seen = new Set(events.map(e => e.t + e.kind + e.text));
        for (const e of h.events) if (!seen.has(e.t + e.kind + e.text)) events.push(e);
        events.sort((a, b) => a.t - b.t);
        showEvents(); draw();
      })
      .catch(err => { $("rangeNote").textContent = "history: " + err.message; });
  }

  function append(st) {
    const s = series;
    s.t.push(st.t); s.bound.push(st.boundNanos); s.boundMin.push(st.boundNanos); s.boundMax.push(st.boundNanos);
    s.offset.push(st.offsetNanos);
    for (const src of st.sources) {
      if (!s.sources[src.name]) s.sources[src.name] = { offset: s.t.slice(0, -1).map(() => null) };
    }
    const byName = Object.fromEntries(st.sources.map(x => [x.name, x]));
    for (const [name, v] of Object.entries(s.sources)) {
      const src = byName[name];
      v.offset.push(src && src.measured ? src.offsetNanos : null);
    }
    let drop = 0;
    while (drop < s.t.length && s.t[drop] < st.t - LIVE_SECONDS) drop++;
    if (drop > 0) {
      for (const k of ["t", "bound", "boundMin", "boundMax", "offset"]) s[k].splice(0, drop);
      for (const v of Object.values(s.sources)) v.offset.splice(0, drop);
    }
  }

  function showState(st) {
    const box = $("status");
    box.dataset.status = st.status;
    box.className = "status " + (st.usable ? "usable" : "unusable");
    $("headline").textContent = "status: " + st.headline;
    $("why").textContent = "why: " + st.why;
    $("meaning").textContent = st.meaning;
    $("numbers").textContent = [`ε ${fmt(st.boundNanos)}`, `offset of this host's clock ${fmt(st.offsetNanos)}`,
      `max drift ${(st.maxDriftPpb / 1e3).toFixed(1)} ppm`, `falsetickers out-votable: ${st.falsetickersOutvotable}`].join(" · ");
    showSources(st);
  }

  function showSources(st) {
    const lo = st.offsetNanos - st.boundNanos, hi = st.offsetNanos + st.boundNanos;
    let min = lo, max = hi;
    for (const s of st.sources) if (s.measured) {
      min = Math.min(min, s.offsetNanos - s.boundNanos); max = Math.max(max, s.offsetNanos + s.boundNanos);
    }
    const span = Math.max(1, max - min);
    const pct = v => (100 * (v - min) / span).toFixed(2) + "%";
    const rows = st.sources.map(s => {
      const tr = document.createElement("tr");
      tr.dataset.source = s.name; tr.dataset.state = s.state;
      const cells = [s.name, null, s.condition, fmt(s.offsetNanos), fmt(s.delayNanos), fmt(s.boundNanos), String(s.rejected), null];
      cells.forEach((text, i) => {
        const td = document.createElement("td");
        if (i >= 3 && i <= 6) td.className = "num";
        if (text !== null) td.textContent = s.measured || i < 3 || i === 6 ? text : "–";
        tr.appendChild(td);
      });
      const badge = document.createElement("span");
      badge.className = "state state-" + s.state; badge.textContent = s.state;
      tr.children[1].appendChild(badge);
      const bar = document.createElement("div"); bar.className = "bar";
      const maj = document.createElement("div"); maj.className = "majority";
      maj.style.left = pct(lo); maj.style.width = `calc(${pct(hi)} - ${pct(lo)})`;
      bar.appendChild(maj);
      if (s.measured) {
        const own = document.createElement("div"); own.className = "own" + (s.state === "falseticker" ? " falseticker" : "");
        own.style.left = pct(s.offsetNanos - s.boundNanos);
        own.style.width = `max(2px, calc(${pct(s.offsetNanos + s.boundNanos)} - ${pct(s.offsetNanos - s.boundNanos)}))`;
        bar.appendChild(own);
      }
      tr.children[7].appendChild(bar);
      return tr;
    });
    $("sources").tBodies[0].replaceChildren(...rows);
  }

  function showEvents() {
    const items = events.slice(-200).reverse().map(e => {
      const li = document.createElement("li");
      li.dataset.kind = e.kind; li.style.borderLeftColor = COLORS[e.kind] || "#666";
      const time = document.createElement("time");
      time.textContent = new Date(e.t * 1000).toISOString().replace("T", " ").replace("Z", " UTC");
      li.append(time, e.kind + ": " + e.text);
      return li;
    });
    $("events").replaceChildren(...items);
    document.body.dataset.events = events.length;
  }

  function addEvents(list) {
    if (!list.length) return;
    events.push(...list);
    if (events.length > 1000) events.splice(0, events.length - 1000);
    showEvents();
  }

  const source = new EventSource("/events");
  source.addEventListener("recent", m => {
    const known = new Set(events.map(e => e.t + e.kind + e.text));
    addEvents(JSON.parse(m.data).events.filter(e => !known.has(e.t + e.kind + e.text)));
  });
  source.addEventListener("state", m => {
    const st = JSON.parse(m.data);
    lastStateAt = Date.now();
    showState(st);
    addEvents(st.events);
    if (range === "live") { append(st); draw(); }
  });
  setInterval(() => {
    const age = (Date.now() - lastStateAt) / 1000;
    $("stale").textContent = lastStateAt && age > STALE_SECONDS
      ? `no update for ${age.toFixed(0)} s: clockd stopped publishing, or this page lost its connection (retrying)` : "";
  }, 1000);

  for (const b of document.querySelectorAll("#ranges button")) {
    b.addEventListener("click", () => {
      range = b.dataset.range;
      for (const o of document.querySelectorAll("#ranges button")) o.classList.toggle("on", o === b);
      loadHistory();
    });
  }
  setInterval(() => { if (range !== "live") loadHistory(); }, 30000);
  window.addEventListener("resize", () => {
    for (const c of [epsChart, offsetChart]) if (c) c.setSize({ width: width(), height: c.height });
  });
  loadHistory();
})();

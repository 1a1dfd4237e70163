// Interdict: the network graph page (/graph). A small force-directed layout drawn in SVG, no library and
// nothing from outside. Data comes from /api/v1/graph (read through sharing on the server); clicking a node
// expands it (the same API, that node as the start, depth 1), double-clicking opens its page.
"use strict";

(function () {
  const root = document.getElementById("graph");
  if (!root) return;
  const NS = "http://www.w3.org/2000/svg";
  const svg = document.getElementById("graph-svg");
  const form = document.getElementById("graph-controls");
  const status = document.getElementById("graph-status");
  const detail = document.getElementById("graph-detail");
  const exportLink = document.getElementById("graph-export");
  const msg = root.dataset;
  const typeLabels = JSON.parse(msg.types || "{}");
  const kindLabels = {};
  form.querySelectorAll("input[name=kinds]").forEach((box) => {
    kindLabels[box.value] = box.closest("label").textContent.trim();
  });

  // Dates and numbers as the page's language writes them (core.localtime): "14/03/2026" and "0,85" in Vietnamese,
  // "14 Mar 2026" and "0.85" in English. An incident's date is a calendar date: no time zone applies.
  const lang = document.body.dataset.lang === "vi" ? "vi" : "en";
  const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  const score2 = new Intl.NumberFormat(lang, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  function formatDay(iso) {
    const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso || "");
    if (!m) return iso;
    return lang === "vi" ? `${m[3]}/${m[2]}/${m[1]}` : `${Number(m[3])} ${MONTHS[Number(m[2]) - 1]} ${m[1]}`;
  }

  const nodes = new Map(); // id -> node {id, type, kind, label, date, incidents, url, x, y, vx, vy, el, expanded}
  const edges = new Map(); // "a|b" -> {source, target, type, roles:Set, status, score, el}
  const layerEdges = document.createElementNS(NS, "g");
  const layerNodes = document.createElementNS(NS, "g");
  svg.append(layerEdges, layerNodes);
  let view = { x: 0, y: 0, scale: 1 };
  let alpha = 0;
  let running = false;
  let selected = null;
  let truncated = false;

  // --- the query --------------------------------------------------------------------------------
  function query(start, depth) {
    const p = new URLSearchParams();
    p.set("start", start);
    p.set("depth", String(depth));
    const boxes = [...form.querySelectorAll("input[name=kinds]")];
    const checked = boxes.filter((b) => b.checked).map((b) => b.value);
    if (checked.length !== boxes.length) p.set("kinds", checked.join(","));
    for (const name of ["date_from", "date_to"]) {
      const value = form.elements[name].value;
      if (value) p.set(name, value);
    }
    return p;
  }

  function updateExport() {
    exportLink.href = `${msg.export}?${query(msg.start, form.elements.depth.value).toString()}`;
  }

  async function load(start, depth, origin) {
    setStatus(msg.msgLoading);
    let data;
    try {
      const r = await fetch(`${msg.api}?${query(start, depth).toString()}`, {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      });
      if (!r.ok) throw new Error("HTTP " + r.status);
      data = await r.json();
    } catch (err) {
      setStatus(msg.msgError, true);
      return;
    }
    merge(data, origin);
    if (origin) origin.expanded = true;
    truncated = truncated || data.truncated;
    setStatus(truncated ? msg.msgTruncated : "");
    root.dataset.nodes = String(nodes.size);
    draw();
    kick(origin ? 0.6 : 1);
  }

  function setStatus(text, error) {
    status.textContent = text || "";
    status.classList.toggle("error", !!error);
  }

  // --- the model --------------------------------------------------------------------------------
  function merge(data, origin) {
    const ox = origin ? origin.x : 0;
    const oy = origin ? origin.y : 0;
    const fresh = data.nodes.filter((n) => !nodes.has(n.id));
    fresh.forEach((n, i) => {
      const angle = (2 * Math.PI * i) / Math.max(fresh.length, 1);
      const r = n.start && !origin ? 0 : 60 + 30 * n.hop + Math.random() * 10;
      nodes.set(n.id, {
        ...n,
        x: ox + r * Math.cos(angle),
        y: oy + r * Math.sin(angle),
        vx: 0,
        vy: 0,
        el: null,
        expanded: false,
        fixed: false,
      });
    });
    for (const n of data.nodes) {
      const known = nodes.get(n.id);
      if (n.start && !origin) known.start = true;
      if (n.incidents != null) known.incidents = Math.max(known.incidents || 0, n.incidents);
    }
    for (const e of data.edges) {
      const key = e.source < e.target ? `${e.source}|${e.target}` : `${e.target}|${e.source}`;
      let edge = edges.get(key);
      if (!edge) {
        edge = { source: e.source, target: e.target, type: e.type, roles: new Set(), status: e.status, score: e.score, el: null };
        edges.set(key, edge);
      }
      if (e.role) edge.roles.add(e.role);
    }
  }

  function reset() {
    nodes.clear();
    edges.clear();
    layerEdges.replaceChildren();
    layerNodes.replaceChildren();
    selected = null;
    truncated = false;
    detail.replaceChildren();
  }

  // --- drawing ----------------------------------------------------------------------------------
  function short(text, n) {
    return text.length > n ? text.slice(0, n - 1) + "…" : text;
  }

  function draw() {
    for (const edge of edges.values()) {
      if (edge.el) continue;
      const line = document.createElementNS(NS, "line");
      line.setAttribute("class", `edge edge-${edge.type}` + (edge.status ? ` link-${edge.status}` : ""));
      const title = document.createElementNS(NS, "title");
      title.textContent =
        edge.type === "link" ? `${edge.status} ${score2.format(Number(edge.score))}` : [...edge.roles].join(", ");
      line.append(title);
      layerEdges.append(line);
      edge.el = line;
    }
    for (const node of nodes.values()) {
      if (node.el) continue;
      const g = document.createElementNS(NS, "g");
      g.setAttribute("class", `node node-${node.type} kind-${node.kind}` + (node.start ? " start" : ""));
      g.setAttribute("tabindex", "0");
      g.setAttribute("role", "button");
      g.dataset.id = node.id;
      g.dataset.type = node.type;
      const shape = document.createElementNS(NS, node.type === "incident" ? "rect" : "circle");
      if (node.type === "incident") {
        shape.setAttribute("x", "-9");
        shape.setAttribute("y", "-9");
        shape.setAttribute("width", "18");
        shape.setAttribute("height", "18");
        shape.setAttribute("rx", "3");
      } else {
        shape.setAttribute("r", String(6 + Math.min(6, Math.sqrt(node.incidents || 1) * 1.5)));
      }
      const text = document.createElementNS(NS, "text");
      text.setAttribute("x", "13");
      text.setAttribute("y", "4");
      text.textContent = short(node.label, 28);
      const title = document.createElementNS(NS, "title");
      title.textContent = `${node.label} · ${describe(node)}`;
      g.append(shape, text, title);
      g.setAttribute("aria-label", `${node.label} · ${describe(node)}`);
      layerNodes.append(g);
      node.el = g;
    }
    render();
  }

  function describe(node) {
    if (node.type === "incident") {
      return [typeLabels[node.kind] || node.kind, formatDay(node.date)].filter(Boolean).join(" · ");
    }
    return `${kindLabels[node.kind] || node.kind} · ${node.incidents || 0} ${msg.msgIncidents}`;
  }

  function render() {
    for (const edge of edges.values()) {
      const a = nodes.get(edge.source);
      const b = nodes.get(edge.target);
      if (!a || !b) continue;
      edge.el.setAttribute("x1", a.x.toFixed(1));
      edge.el.setAttribute("y1", a.y.toFixed(1));
      edge.el.setAttribute("x2", b.x.toFixed(1));
      edge.el.setAttribute("y2", b.y.toFixed(1));
    }
    for (const node of nodes.values()) {
      node.el.setAttribute("transform", `translate(${node.x.toFixed(1)},${node.y.toFixed(1)})`);
      node.el.classList.toggle("selected", node === selected);
      node.el.classList.toggle("expanded", node.expanded);
    }
    const w = svg.clientWidth || 800;
    const h = svg.clientHeight || 600;
    const vw = w / view.scale;
    const vh = h / view.scale;
    svg.setAttribute("viewBox", `${(view.x - vw / 2).toFixed(1)} ${(view.y - vh / 2).toFixed(1)} ${vw.toFixed(1)} ${vh.toFixed(1)}`);
  }

  // --- the force-directed layout ----------------------------------------------------------------
  // Repulsion between every pair (Coulomb-like), springs along edges, a weak pull to the centre; velocities
  // are damped and the temperature (alpha) cools until the layout rests.
  function tick() {
    const list = [...nodes.values()];
    const n = list.length;
    for (let i = 0; i < n; i++) {
      const a = list[i];
      for (let j = i + 1; j < n; j++) {
        const b = list[j];
        let dx = b.x - a.x;
        let dy = b.y - a.y;
        let d2 = dx * dx + dy * dy;
        if (d2 < 0.01) {
          dx = Math.random() - 0.5;
          dy = Math.random() - 0.5;
          d2 = 0.01;
        }
        if (d2 > 250000) continue; // beyond 500 units the push is negligible
        const f = (900 * alpha) / d2;
        const fx = dx * f;
        const fy = dy * f;
        a.vx -= fx;
        a.vy -= fy;
        b.vx += fx;
        b.vy += fy;
      }
    }
    for (const edge of edges.values()) {
      const a = nodes.get(edge.source);
      const b = nodes.get(edge.target);
      if (!a || !b) continue;
      const dx = b.x - a.x;
      const dy = b.y - a.y;
      const d = Math.sqrt(dx * dx + dy * dy) || 1;
      const rest = edge.type === "link" ? 45 : 75;
      const k = ((d - rest) / d) * 0.06 * alpha;
      a.vx += dx * k;
      a.vy += dy * k;
      b.vx -= dx * k;
      b.vy -= dy * k;
    }
    for (const node of list) {
      node.vx -= node.x * 0.004 * alpha;
      node.vy -= node.y * 0.004 * alpha;
      if (node.fixed) {
        node.vx = node.vy = 0;
        continue;
      }
      node.vx *= 0.6;
      node.vy *= 0.6;
      node.x += Math.max(-30, Math.min(30, node.vx));
      node.y += Math.max(-30, Math.min(30, node.vy));
    }
    alpha *= 0.985;
  }

  function kick(strength) {
    alpha = Math.max(alpha, strength);
    if (running) return;
    running = true;
    root.dataset.layout = "running";
    const step = () => {
      tick();
      render();
      if (alpha > 0.02) {
        requestAnimationFrame(step);
      } else {
        running = false;
        root.dataset.layout = "done";
      }
    };
    requestAnimationFrame(step);
  }

  // --- the side panel ---------------------------------------------------------------------------
  function select(node) {
    selected = node;
    const h = document.createElement("h3");
    h.textContent = node.label;
    const what = document.createElement("p");
    what.className = "muted";
    what.textContent = describe(node);
    const open = document.createElement("a");
    open.href = node.url;
    open.className = "button";
    open.id = "graph-open";
    open.textContent = msg.msgOpen;
    const expand = document.createElement("button");
    expand.type = "button";
    expand.textContent = msg.msgExpand;
    expand.disabled = node.expanded;
    expand.addEventListener("click", () => expandNode(node));
    const recentre = document.createElement("a");
    recentre.href = `/graph?start=${encodeURIComponent(node.id)}`;
    recentre.textContent = msg.msgRecentre;
    const actions = document.createElement("p");
    actions.className = "actions";
    actions.append(open, expand, recentre);
    detail.replaceChildren(h, what, actions);
    render();
  }

  function expandNode(node) {
    if (node.expanded) return;
    node.expanded = true;
    load(node.id, 1, node).then(() => {
      if (selected === node) select(node);
    });
  }

  // --- interaction ------------------------------------------------------------------------------
  function nodeOf(target) {
    const g = target.closest ? target.closest("g.node") : null;
    return g ? nodes.get(g.dataset.id) : null;
  }

  function svgPoint(evt) {
    const rect = svg.getBoundingClientRect();
    const w = rect.width / view.scale;
    const h = rect.height / view.scale;
    return {
      x: view.x - w / 2 + (evt.clientX - rect.left) / view.scale,
      y: view.y - h / 2 + (evt.clientY - rect.top) / view.scale,
    };
  }

  let drag = null; // {node, moved} or {pan: {x, y}, view}
  let lastClick = null; // {node, at}
  svg.addEventListener("pointerdown", (evt) => {
    const node = nodeOf(evt.target);
    drag = node ? { node, moved: false } : { pan: { x: evt.clientX, y: evt.clientY }, view: { ...view }, moved: false };
    svg.setPointerCapture(evt.pointerId);
  });
  svg.addEventListener("pointermove", (evt) => {
    if (!drag) return;
    if (drag.node) {
      const p = svgPoint(evt);
      if (Math.abs(p.x - drag.node.x) + Math.abs(p.y - drag.node.y) > 2) drag.moved = true;
      if (!drag.moved) return;
      drag.node.x = p.x;
      drag.node.y = p.y;
      drag.node.fixed = true;
      kick(0.2);
    } else {
      const dx = evt.clientX - drag.pan.x;
      const dy = evt.clientY - drag.pan.y;
      if (Math.abs(dx) + Math.abs(dy) > 2) drag.moved = true;
      view.x = drag.view.x - dx / view.scale;
      view.y = drag.view.y - dy / view.scale;
      render();
    }
  });
  svg.addEventListener("pointerup", (evt) => {
    const was = drag;
    drag = null;
    if (svg.hasPointerCapture(evt.pointerId)) svg.releasePointerCapture(evt.pointerId);
    if (!was || !was.node || was.moved) return;
    // A second click on the same node within 400 ms is a double click: open its page. (Pointer capture
    // retargets the browser's own dblclick to the SVG, so it is told apart here.)
    const now = Date.now();
    if (lastClick && lastClick.node === was.node && now - lastClick.at < 400) {
      lastClick = null;
      window.location.assign(was.node.url);
      return;
    }
    lastClick = { node: was.node, at: now };
    select(was.node);
    expandNode(was.node);
  });
  svg.addEventListener("keydown", (evt) => {
    const node = nodeOf(evt.target);
    if (!node) return;
    if (evt.key === "Enter") {
      select(node);
      expandNode(node);
    } else if (evt.key === "o") {
      window.location.assign(node.url);
    }
  });
  svg.addEventListener(
    "wheel",
    (evt) => {
      evt.preventDefault();
      view.scale = Math.max(0.2, Math.min(4, view.scale * (evt.deltaY < 0 ? 1.15 : 1 / 1.15)));
      render();
    },
    { passive: false },
  );

  function reload() {
    reset();
    updateExport();
    load(msg.start, Number(form.elements.depth.value), null);
  }
  form.addEventListener("submit", (evt) => {
    evt.preventDefault();
    reload();
  });
  form.querySelectorAll("input[name=kinds], select[name=depth]").forEach((el) => el.addEventListener("change", reload));
  form.querySelectorAll("input[type=date]").forEach((el) => el.addEventListener("change", updateExport));
  window.addEventListener("resize", render);
  reload();
})();

// Interdict: the network graph page (/graph), drawn with Cytoscape.js (vendored under /static/vendor/cytoscape/,
// served by Interdict itself). Data comes from /api/v1/graph (read through sharing on the server, so the page only
// ever holds what the viewer may read). The graph is fitted to its box on load and after each change; clicking or
// tapping a node selects it and expands it (the same API, that node as the start, depth 1); double-clicking opens
// its page. A list of the nodes beside the graph (buttons "Show" and "Expand") does the same from the keyboard and
// for screen readers; Enter in the graph expands the selected node.
"use strict";

(function () {
  const root = document.getElementById("graph");
  if (!root || typeof window.cytoscape !== "function") return;
  const box = document.getElementById("graph-cy");
  const form = document.getElementById("graph-controls");
  const status = document.getElementById("graph-status");
  const detail = document.getElementById("graph-detail");
  const list = document.getElementById("graph-list");
  const count = document.getElementById("graph-count");
  const exportLink = document.getElementById("graph-export");
  const msg = root.dataset;
  const typeLabels = JSON.parse(msg.types || "{}");
  const kindLabels = {};
  form.querySelectorAll("input[name=kinds]").forEach((input) => {
    kindLabels[input.value] = input.closest("label").textContent.trim();
  });
  // Dates as the page's language writes them (core.localtime): "14/03/2026" in Vietnamese, "14 Mar 2026" in
  // English. An incident's date is a calendar date: no time zone applies.
  const lang = document.body.dataset.lang === "vi" ? "vi" : "en";
  const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  function formatDay(iso) {
    const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso || "");
    if (!m) return iso;
    return lang === "vi" ? `${m[3]}/${m[2]}/${m[1]}` : `${Number(m[3])} ${MONTHS[Number(m[2]) - 1]} ${m[1]}`;
  }
  // The same colours as the legend's swatches (app.css, .swatch.kind-*).
  const COLOURS = {
    incident: "#12263f",
    company: "#0b5cad",
    organisation: "#0b5cad",
    person: "#8e24aa",
    phone: "#00897b",
    email: "#26a69a",
    tax_id: "#5c6bc0",
    id_document: "#ab47bc",
    address: "#6d4c41",
    container: "#ef6c00",
    vessel: "#0277bd",
    bill_of_lading: "#9e9d24",
    parcel: "#c0a000",
    vehicle: "#546e7a",
  };

  const cy = window.cytoscape({
    container: box,
    minZoom: 0.15,
    maxZoom: 3,
    wheelSensitivity: 0.3,
    boxSelectionEnabled: false,
    style: [
      {
        selector: "node",
        style: {
          label: "data(short)",
          "background-color": "data(colour)",
          width: "data(size)",
          height: "data(size)",
          "font-size": 11,
          color: "#1b1f24",
          "text-valign": "bottom",
          "text-margin-y": 3,
          "text-outline-color": "#ffffff",
          "text-outline-width": 2,
          "border-color": "#ffffff",
          "border-width": 1.5,
        },
      },
      { selector: "node[type = 'incident']", style: { shape: "round-rectangle" } },
      { selector: "node.start", style: { "border-color": "#f0a500", "border-width": 4 } },
      { selector: "node.expanded", style: { "font-weight": "bold" } },
      { selector: "node:selected", style: { "border-color": "#12263f", "border-width": 4, "overlay-opacity": 0 } },
      { selector: "edge", style: { width: 1.2, "line-color": "#a9b3c2", "curve-style": "straight" } },
      { selector: "edge[type = 'link']", style: { width: 2, "line-color": "#b3261e" } },
      { selector: "edge[status = 'suggested']", style: { width: 1.5, "line-style": "dashed" } },
    ],
  });

  root.cy = cy; // for the browser tests (where each node is drawn); nothing else reads it
  let truncated = false;
  let busy = 0;

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

  function setStatus(text, error) {
    status.textContent = text || "";
    status.classList.toggle("error", !!error);
  }

  let generation = 0; // a reload (new filters) makes answers to earlier requests stale

  async function load(start, depth, origin) {
    const asked = generation;
    busy += 1;
    root.dataset.layout = "running";
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
      busy -= 1;
      if (origin) origin.removeClass("expanded");
      setStatus(msg.msgError, true);
      if (!busy) root.dataset.layout = "done";
      return;
    }
    if (asked !== generation) {
      busy -= 1;
      return;
    }
    const added = merge(data, origin);
    truncated = truncated || data.truncated;
    setStatus(truncated ? msg.msgTruncated : "");
    busy -= 1;
    arrange(origin, added);
  }

  // --- the model --------------------------------------------------------------------------------
  function short(text, n) {
    return text.length > n ? text.slice(0, n - 1) + "…" : text;
  }

  function describe(data) {
    if (data.type === "incident") return [typeLabels[data.kind] || data.kind, formatDay(data.date)].filter(Boolean).join(" · ");
    return `${kindLabels[data.kind] || data.kind} · ${data.incidents || 0} ${msg.msgIncidents}`;
  }

  function size(n) {
    return n.type === "incident" ? 20 : 12 + Math.min(12, Math.sqrt(n.incidents || 1) * 3);
  }

  function merge(data, origin) {
    const centre = origin ? origin.position() : { x: 0, y: 0 };
    const fresh = data.nodes.filter((n) => cy.getElementById(n.id).empty());
    const elements = fresh.map((n, i) => {
      const angle = (2 * Math.PI * i) / Math.max(fresh.length, 1);
      const r = n.start && !origin ? 0 : 60 + 20 * n.hop;
      return {
        group: "nodes",
        data: {
          id: n.id,
          type: n.type,
          kind: n.kind,
          label: n.label,
          short: short(n.label, 28),
          date: n.date,
          incidents: n.incidents,
          url: n.url,
          colour: COLOURS[n.type === "incident" ? "incident" : n.kind] || "#546e7a",
          size: size(n),
        },
        classes: n.start && !origin ? "start" : "",
        position: { x: centre.x + r * Math.cos(angle), y: centre.y + r * Math.sin(angle) },
      };
    });
    for (const n of data.nodes) {
      const known = cy.getElementById(n.id);
      if (known.nonempty() && n.incidents != null && n.incidents > (known.data("incidents") || 0)) {
        known.data({ incidents: n.incidents, size: size(n) });
      }
    }
    for (const e of data.edges) {
      const [a, b] = e.source < e.target ? [e.source, e.target] : [e.target, e.source];
      const id = `${a}|${b}`;
      const edge = cy.getElementById(id);
      if (edge.nonempty()) {
        if (e.role && !edge.data("roles").includes(e.role)) edge.data("roles", [...edge.data("roles"), e.role]);
        continue;
      }
      elements.push({
        group: "edges",
        data: { id, source: e.source, target: e.target, type: e.type, status: e.status || "", roles: e.role ? [e.role] : [] },
      });
    }
    return cy.add(elements).nodes();
  }

  // --- layout and fitting -----------------------------------------------------------------------
  function fit() {
    cy.stop(true); // a running "Show" animation would move the view after the fit
    cy.resize();
    cy.fit(cy.elements(), 30);
  }

  function arrange(origin, added) {
    root.dataset.nodes = String(cy.nodes().length);
    renderList();
    const layout = cy.layout({
      name: "cose",
      animate: false,
      randomize: false,
      fit: false,
      nodeDimensionsIncludeLabels: true,
      idealEdgeLength: () => 70,
      nodeRepulsion: () => 9000,
      numIter: 1500,
    });
    layout.one("layoutstop", () => {
      fit();
      if (!busy) root.dataset.layout = "done";
      if (origin) origin.select();
    });
    layout.run();
    if (origin && !truncated) setStatus(`${origin.data("label")}: ${added.length} ${msg.msgAdded}`);
  }

  // --- the side panel and the list of nodes -----------------------------------------------------
  function button(text, cls, onClick) {
    const b = document.createElement("button");
    b.type = "button";
    b.className = cls;
    b.textContent = text;
    b.addEventListener("click", onClick);
    return b;
  }

  function showDetail(node) {
    const data = node.data();
    const h = document.createElement("h3");
    h.textContent = data.label;
    const what = document.createElement("p");
    what.className = "muted";
    what.textContent = describe(data);
    const open = document.createElement("a");
    open.href = data.url;
    open.className = "button";
    open.id = "graph-open";
    open.textContent = msg.msgOpen;
    const expand = button(msg.msgExpand, "", () => expandNode(node));
    expand.disabled = node.hasClass("expanded");
    const recentre = document.createElement("a");
    recentre.href = `/graph?start=${encodeURIComponent(data.id)}`;
    recentre.textContent = msg.msgRecentre;
    const actions = document.createElement("p");
    actions.className = "actions";
    actions.append(open, expand, recentre);
    detail.replaceChildren(h, what, actions);
  }

  function renderList() {
    const nodes = cy.nodes().sort((a, b) => {
      if (a.hasClass("start") !== b.hasClass("start")) return a.hasClass("start") ? -1 : 1;
      if (a.data("type") !== b.data("type")) return a.data("type") === "incident" ? -1 : 1;
      return a.data("label").localeCompare(b.data("label"));
    });
    const items = nodes.map((node) => {
      const data = node.data();
      const li = document.createElement("li");
      li.dataset.id = data.id;
      const swatch = document.createElement("span");
      swatch.className = data.type === "incident" ? "swatch node-incident" : `swatch kind-${data.kind}`;
      const link = document.createElement("a");
      link.href = data.url;
      link.textContent = data.label;
      const what = document.createElement("span");
      what.className = "muted";
      what.textContent = describe(data);
      const name = document.createElement("span");
      name.className = "graph-item-name";
      name.append(swatch, " ", link, " ", what);
      const show = button(msg.msgShow, "graph-show", () => focusNode(node));
      show.setAttribute("aria-label", `${msg.msgShow}: ${data.label}`);
      const expand = button(msg.msgExpand, "graph-expand", () => expandNode(node));
      expand.setAttribute("aria-label", `${msg.msgExpand}: ${data.label}`);
      expand.disabled = node.hasClass("expanded");
      const actions = document.createElement("span");
      actions.className = "actions";
      actions.append(show, expand);
      li.append(name, actions);
      return li;
    });
    list.replaceChildren(...items);
    count.textContent = String(items.length);
  }

  function select(node) {
    cy.nodes(":selected").unselect();
    node.select();
    showDetail(node);
  }

  function focusNode(node) {
    select(node);
    cy.animate({ center: { eles: node }, zoom: Math.max(cy.zoom(), 1) }, { duration: 200 });
    box.focus({ preventScroll: true });
  }

  function expandNode(node) {
    if (node.hasClass("expanded")) return Promise.resolve();
    node.addClass("expanded");
    const item = list.querySelector(`li[data-id="${CSS.escape(node.id())}"] .graph-expand`);
    if (item) item.disabled = true;
    return load(node.id(), 1, node).then(() => {
      if (node.selected()) showDetail(node);
      const again = list.querySelector(`li[data-id="${CSS.escape(node.id())}"] .graph-show`);
      if (again && document.activeElement === document.body) again.focus();
    });
  }

  // --- interaction ------------------------------------------------------------------------------
  // A second tap on the same node within 400 ms opens its page (Cytoscape's own dbltap also fires for two quick
  // taps on different nodes).
  let lastTap = null; // {id, at}
  cy.on("tap", "node", (evt) => {
    const node = evt.target;
    const now = Date.now();
    if (lastTap && lastTap.id === node.id() && now - lastTap.at < 400) {
      lastTap = null;
      window.location.assign(node.data("url"));
      return;
    }
    lastTap = { id: node.id(), at: now };
    select(node);
    expandNode(node);
  });
  box.addEventListener("keydown", (evt) => {
    const node = cy.nodes(":selected").first();
    if (node.empty()) return;
    if (evt.key === "Enter") {
      evt.preventDefault();
      expandNode(node);
    } else if (evt.key === "o") {
      window.location.assign(node.data("url"));
    }
  });

  function reload() {
    generation += 1;
    cy.elements().remove();
    truncated = false;
    detail.replaceChildren();
    updateExport();
    load(msg.start, Number(form.elements.depth.value), null);
  }
  form.addEventListener("submit", (evt) => {
    evt.preventDefault();
    reload();
  });
  form.querySelectorAll("input[name=kinds], select[name=depth]").forEach((el) => el.addEventListener("change", reload));
  form.querySelectorAll("input[type=date]").forEach((el) => el.addEventListener("change", updateExport));
  let resizing = null;
  window.addEventListener("resize", () => {
    clearTimeout(resizing);
    resizing = setTimeout(fit, 150);
  });
  reload();
})();

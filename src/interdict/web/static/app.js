// Interdict: small progressive enhancements (no inline scripts, no external assets).
"use strict";

(function () {
  const lang = document.body.dataset.lang || "en";

  function debounce(fn, ms) {
    let t;
    const run = function (...args) { clearTimeout(t); t = setTimeout(() => fn.apply(this, args), ms); };
    run.cancel = () => clearTimeout(t);
    return run;
  }

  // --- the header menu: collapsed behind its button on narrow screens ------------------------
  // Without JavaScript the button stays hidden and the menu shows, wrapped under the brand.
  const menuToggle = document.getElementById("menu-toggle");
  if (menuToggle) {
    const header = menuToggle.closest("header");
    const menu = document.getElementById(menuToggle.getAttribute("aria-controls"));
    const isOpen = () => menuToggle.getAttribute("aria-expanded") === "true";
    const setOpen = (open) => { menuToggle.setAttribute("aria-expanded", String(open)); menu.classList.toggle("open", open); };
    menuToggle.hidden = false;
    header.classList.add("menu-js");
    menuToggle.addEventListener("click", () => setOpen(!isOpen()));
    header.addEventListener("keydown", (e) => {
      if (e.key === "Escape" && isOpen() && menuToggle.offsetParent !== null) { setOpen(false); menuToggle.focus(); }
    });
  }

  // --- the error summary of a form: in the form's order, focused when the page opens, each link to its field ------
  const summary = document.querySelector(".error-summary");
  if (summary) {
    const list = summary.querySelector("ul");
    const target = (li) => { const a = li.querySelector("a[data-summary-for]"); return a && document.getElementById(a.dataset.summaryFor); };
    const items = Array.from(list.children);
    items.sort((a, b) => {
      const x = target(a), y = target(b);
      if (!x || !y) return (x ? 1 : 0) - (y ? 1 : 0);  // messages of the whole form first
      return x.compareDocumentPosition(y) & Node.DOCUMENT_POSITION_FOLLOWING ? -1 : 1;
    });
    items.forEach((li) => list.appendChild(li));
    // Each problem named by its field's label ("Subject: ..."), as the field shows it.
    for (const link of list.querySelectorAll("a[data-summary-for]")) {
      const label = document.querySelector(`label[for="${CSS.escape(link.dataset.summaryFor)}"]`);
      const name = label && label.textContent.replace(/\s*\*\s*$/, "").replace(/\s+/g, " ").trim();
      if (name) link.prepend(name + ": ");
    }
    summary.addEventListener("click", (e) => {
      const link = e.target.closest("a[data-summary-for]");
      const field = link && document.getElementById(link.dataset.summaryFor);
      if (!field) return;
      e.preventDefault();
      const closed = field.closest("details:not([open])");
      if (closed) closed.open = true;
      field.scrollIntoView({ block: "center" });
      field.focus({ preventScroll: true });
      history.replaceState(null, "", "#" + field.id);
    });
  }

  async function getJSON(url) {
    const r = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (!r.ok) throw new Error("HTTP " + r.status);
    return r.json();
  }

  // --- autocomplete for substances, UN/LOCODE places and countries (picked by name) -------------------------------------
  const sources = {
    substance: async (q) => (await getJSON(`/api/v1/reference/substances?limit=10&q=${encodeURIComponent(q)}`)).map((s) => ({
      value: s.id,
      text: s.name + (s.cas ? ` (${s.cas})` : ""),
      fillText: s.name,
      sub: [s.matched_name !== s.name ? s.matched_name : null, s.controls.join(" · ")].filter(Boolean).join(" — "),
    })),
    location: async (q) => (await getJSON(`/api/v1/reference/locations?limit=10&lang=${lang}&q=${encodeURIComponent(q)}`)).map((l) => ({
      value: l.code,
      text: `${l.code} — ${l.name}`,
      fillText: l.code,
      sub: [l.country_name, l.is_seaport ? "⚓" : null, l.is_airport ? "✈" : null, l.is_border ? "⛿" : null].filter(Boolean).join(" "),
    })),
    country: async (q) => (await getJSON(`/api/v1/reference/countries?limit=10&lang=${lang}&q=${encodeURIComponent(q)}`)).map((c) => ({
      value: c.code,
      text: c.label,
      fillText: c.label,
    })),
  };

  function attachAutocomplete(input) {
    if (input.dataset.acReady) return;
    input.dataset.acReady = "1";
    const kind = input.dataset.autocomplete;
    const target = input.dataset.acTarget ? document.getElementById(input.dataset.acTarget) : null;
    const list = document.createElement("ul");
    list.className = "ac-list";
    list.setAttribute("role", "listbox");
    list.hidden = true;
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    list.id = (input.id || "ac-" + Math.random().toString(36).slice(2)) + "-suggestions";
    input.setAttribute("aria-controls", list.id);
    input.after(list);
    let items = [];
    let active = -1;
    let asked = 0;  // the latest lookup: an older answer, or one arriving after the field was left, is dropped

    function show(open) { list.hidden = !open; input.setAttribute("aria-expanded", String(open)); }
    function close() { asked++; lookup.cancel(); items = []; show(false); active = -1; }
    function choose(i) {
      const it = items[i];
      if (!it) return;
      if (target) { target.value = it.value; input.value = it.text; }
      else if (input.dataset.acFill === "text") { input.value = it.fillText; }
      else { input.value = it.value; }
      input.dispatchEvent(new Event("change", { bubbles: true }));
      close();
    }
    function render() {
      list.innerHTML = "";
      items.forEach((it, i) => {
        const li = document.createElement("li");
        li.setAttribute("role", "option");
        li.dataset.value = it.value;
        li.textContent = it.text;
        if (it.sub) { const s = document.createElement("span"); s.className = "ac-sub"; s.textContent = it.sub; li.append(s); }
        if (i === active) li.setAttribute("aria-selected", "true");
        li.addEventListener("mousedown", (e) => { e.preventDefault(); choose(i); });
        list.append(li);
      });
      show(items.length > 0);
    }
    const lookup = debounce(async () => {
      const q = input.value.trim();
      const mine = ++asked;
      if (q.length < 1) { items = []; render(); return; }
      let found;
      try { found = await sources[kind](q); } catch (e) { found = []; }
      if (mine !== asked || document.activeElement !== input) return;
      items = found;
      active = items.length ? 0 : -1;
      render();
    }, 150);
    input.addEventListener("input", () => {
      if (target) target.value = input.value;  // typed text is resolved by the server unless a suggestion is picked
      lookup();
    });
    input.addEventListener("keydown", (e) => {
      if (e.key === "Tab") { close(); return; }  // focus moves on; what was typed stays
      if (list.hidden) return;
      if (e.key === "ArrowDown") { active = Math.min(items.length - 1, active + 1); render(); e.preventDefault(); }
      else if (e.key === "ArrowUp") { active = Math.max(0, active - 1); render(); e.preventDefault(); }
      else if (e.key === "Enter") { if (active >= 0) { choose(active); e.preventDefault(); } }
      else if (e.key === "Escape") { close(); }
    });
    input.addEventListener("blur", () => {  // no answer opens the list once the field is left
      asked++; lookup.cancel();
      setTimeout(() => { if (document.activeElement !== input) close(); }, 150);
    });
  }

  // --- inline validation of identifiers -----------------------------------------------------
  function attachValidation(input) {
    if (input.dataset.valReady) return;
    input.dataset.valReady = "1";
    const msg = input.parentElement.querySelector(".inline-msg");
    input.addEventListener("change", async () => {
      const v = input.value.trim();
      if (!msg) return;
      msg.textContent = ""; msg.className = "inline-msg";
      input.removeAttribute("aria-invalid");
      if (!v) return;
      try {
        const r = await getJSON(`/api/v1/reference/validate?kind=${input.dataset.validate}&value=${encodeURIComponent(v)}`);
        if (!r.valid) { msg.textContent = r.message; msg.classList.add("bad"); input.setAttribute("aria-invalid", "true"); }
        else if (r.warning) { msg.textContent = r.warning; msg.classList.add("warn"); }
        else { msg.textContent = "✓ " + r.normalised; msg.classList.add("good"); }
      } catch (e) { /* offline: the server checks again on save */ }
    });
  }

  // --- repeatable lines ---------------------------------------------------------------------
  function renumber(container) {
    const name = container.dataset.lines;
    container.querySelectorAll(":scope > [data-line]").forEach((line, i) => {
      line.querySelectorAll("[name], [id], [for], [data-ac-target], [aria-controls]").forEach((el) => {
        for (const attr of ["name", "id", "for", "data-ac-target", "aria-controls"]) {
          const val = el.getAttribute(attr);
          if (val) el.setAttribute(attr, val.replace(new RegExp(`^${name}-(\\d+|__i__)-`), `${name}-${i}-`));
        }
      });
      const no = line.querySelector("[data-line-no]");
      if (no) no.textContent = String(i + 1);
    });
  }

  function enhance(root) {
    root.querySelectorAll("[data-autocomplete]").forEach(attachAutocomplete);
    root.querySelectorAll("[data-validate]").forEach(attachValidation);
  }

  document.addEventListener("click", (e) => {
    const add = e.target.closest("[data-add-line]");
    if (add) {
      const name = add.dataset.addLine;
      const container = document.querySelector(`[data-lines="${name}"]`);
      const tpl = document.querySelector(`template[data-line-template="${name}"]`);
      const frag = tpl.content.cloneNode(true);
      container.append(frag);
      renumber(container);
      enhance(container);
      const first = container.lastElementChild.querySelector("input, select");
      if (first) first.focus();
      return;
    }
    const rm = e.target.closest("[data-remove-line]");
    if (rm) {
      const line = rm.closest("[data-line]");
      const container = line.parentElement;
      line.remove();
      renumber(container);
      return;
    }
    const confirmBtn = e.target.closest("[data-confirm]");
    if (confirmBtn && !window.confirm(confirmBtn.dataset.confirm)) e.preventDefault();
  });

  // --- risk-profile conditions: the value's suggestions follow the chosen field ---------------------
  document.addEventListener("change", (e) => {
    const select = e.target.closest("select[data-values-for]");
    if (!select) return;
    const input = document.getElementById(select.dataset.valuesFor);
    if (!input) return;
    if (select.value && document.getElementById("values-" + select.value)) input.setAttribute("list", "values-" + select.value);
    else input.removeAttribute("list");
  });

  enhance(document);
  // A form that came back with problems: its summary first (it links to each field), else the first field marked.
  const firstError = summary || document.querySelector("[aria-invalid='true']");
  if (firstError) firstError.focus();
})();

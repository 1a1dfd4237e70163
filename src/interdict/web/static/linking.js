// Interdict: the incident page right after a submission or change, while the linkage worker links it. Asks
// /api/v1/incidents/{id}/linking until linking is done (read as the viewer: an incident the viewer may not read is
// 404), then fetches the page again and puts its fresh "Linked incidents" section in place of the old one.
"use strict";

(function () {
  const status = document.getElementById("linking-status");
  if (!status || !status.dataset.url) return;
  const started = Date.now();
  const GIVE_UP_MS = 30 * 60 * 1000;
  let delay = 1000;

  function failed() {
    status.textContent = status.dataset.msgError;
    status.dataset.state = "error";
    status.classList.replace("alert-info", "alert-warn");
  }

  async function refreshLinks() {
    const r = await fetch(status.dataset.page, { credentials: "same-origin", headers: { Accept: "text/html" } });
    if (!r.ok) throw new Error("HTTP " + r.status);
    const fresh = new DOMParser().parseFromString(await r.text(), "text/html").getElementById("links");
    const old = document.getElementById("links");
    if (fresh && old) old.replaceWith(document.importNode(fresh, true));
  }

  async function poll() {
    let answer;
    try {
      const r = await fetch(status.dataset.url, { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (!r.ok) throw new Error("HTTP " + r.status);
      answer = await r.json();
    } catch (err) {
      failed();
      return;
    }
    if (!answer.done) {
      if (Date.now() - started > GIVE_UP_MS) return failed();
      delay = Math.min(delay * 1.5, 10000);
      setTimeout(poll, delay);
      return;
    }
    try {
      await refreshLinks();
    } catch (err) {
      failed();
      return;
    }
    const link = document.createElement("a");
    link.href = "#links";
    link.textContent = String(answer.linked);
    status.replaceChildren(status.dataset.msgDone + " ", link);
    status.dataset.state = "done";
    status.classList.replace("alert-info", "alert-ok");
  }

  setTimeout(poll, delay);
})();

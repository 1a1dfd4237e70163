// Live notifications: one EventSource per page on /notifications/stream (Server-Sent Events). The server sends
// "unread" (the count) when the connection opens and "notification" for each new item; the browser reconnects by
// itself and resumes with Last-Event-ID. Everything is written with textContent (never HTML from the server).
(function () {
  "use strict";
  var bell = document.getElementById("bell-count");
  if (!bell || typeof EventSource === "undefined") return;
  var count = 0;
  var seen = {};

  var UNREAD_CAP = 100;  // notifications.service.UNREAD_COUNT_CAP

  function setCount(n) {
    count = Math.max(0, n);
    bell.textContent = count >= UNREAD_CAP ? String(UNREAD_CAP - 1) + "+" : String(count);  // counted up to 100
    bell.hidden = count === 0;
    bell.setAttribute("data-count", String(count));
  }

  // A time as the server writes it (core.localtime): in the viewer's zone and language, with the zone, both
  // given on <body> (data-tz, data-lang): "07/12/2026 14:05 (GMT+7)" in Vietnamese, "7 Dec 2026, 14:05 GMT+7"
  // in English.
  var MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  function formatTime(iso) {
    var at = new Date(iso);
    if (!iso || isNaN(at.getTime())) return "";
    var lang = document.body.getAttribute("data-lang") === "vi" ? "vi" : "en";
    var zone = document.body.getAttribute("data-tz") || "UTC";
    var options = {
      timeZone: zone, year: "numeric", month: "numeric", day: "numeric", hour: "2-digit", minute: "2-digit",
      hourCycle: "h23", timeZoneName: "shortOffset"
    };
    var parts = {};
    var fmt;
    try {
      fmt = new Intl.DateTimeFormat("en-GB", options);
    } catch (e) {  // an unknown zone, or no "shortOffset" in this browser
      options.timeZone = "UTC";
      delete options.timeZoneName;
      fmt = new Intl.DateTimeFormat("en-GB", options);
    }
    fmt.formatToParts(at).forEach(function (p) { parts[p.type] = p.value; });
    var gmt = parts.timeZoneName || "GMT";
    var label = gmt === "GMT" || gmt === "UTC" ? "UTC" : gmt.replace(/^UTC/, "GMT");
    var day = Number(parts.day), month = Number(parts.month);
    var time = parts.hour + ":" + parts.minute;
    if (lang === "vi") {
      return (day < 10 ? "0" : "") + day + "/" + (month < 10 ? "0" : "") + month + "/" + parts.year + " " + time +
        " (" + label + ")";
    }
    return day + " " + MONTHS[month - 1] + " " + parts.year + ", " + time + " " + label;
  }

  function safeUrl(url) {
    return typeof url === "string" && url.charAt(0) === "/" && url.charAt(1) !== "/" ? url : "/notifications";
  }

  function toast(item) {
    var box = document.getElementById("toasts");
    if (!box) return;
    var el = document.createElement("div");
    el.className = "toast toast-" + item.urgency;
    el.setAttribute("data-id", String(item.id));
    var a = document.createElement("a");
    a.href = safeUrl(item.url);
    a.textContent = item.title;
    el.appendChild(a);
    if (item.text) {
      var t = document.createElement("span");
      t.className = "toast-text";
      t.textContent = item.text;
      el.appendChild(t);
    }
    box.appendChild(el);
    window.setTimeout(function () { if (el.parentNode) el.parentNode.removeChild(el); }, 15000);
  }

  function addToList(item) {
    var list = document.getElementById("notification-list");
    if (!list || list.querySelector('li[data-id="' + item.id + '"]')) return;
    var empty = document.getElementById("no-notifications");
    if (empty) empty.parentNode.removeChild(empty);
    var li = document.createElement("li");
    li.className = "note unread";
    li.setAttribute("data-id", String(item.id));
    var head = document.createElement("div");
    head.className = "note-head";
    var badge = document.createElement("span");
    badge.className = "urgency urgency-" + item.urgency;
    badge.textContent = list.getAttribute("data-l-" + item.urgency) || item.urgency;
    head.appendChild(badge);
    var a = document.createElement("a");
    a.className = "note-title";
    a.href = safeUrl(item.url);
    a.textContent = item.title;
    head.appendChild(a);
    var when = document.createElement("span");
    when.className = "muted";
    when.textContent = formatTime(item.updated_at || item.created_at);  // as the page lists it
    head.appendChild(when);
    var csrf = document.body.getAttribute("data-csrf");
    if (csrf) {
      var form = document.createElement("form");
      form.method = "post";
      form.action = "/notifications/read";
      form.className = "inline";
      [["csrf_token", csrf], ["id", String(item.id)]].forEach(function (pair) {
        var input = document.createElement("input");
        input.type = "hidden";
        input.name = pair[0];
        input.value = pair[1];
        form.appendChild(input);
      });
      var button = document.createElement("button");
      button.type = "submit";
      button.className = "linklike";
      button.textContent = list.getAttribute("data-l-mark-read") || "Mark read";
      form.appendChild(button);
      head.appendChild(form);
    }
    li.appendChild(head);
    if (item.text) {
      var p = document.createElement("p");
      p.className = "note-text";
      p.textContent = item.text;
      li.appendChild(p);
    }
    list.insertBefore(li, list.firstChild);
  }

  // The centre's newest listed notification: the stream sends what came after it, so one created between this page's
  // rendering and the stream's start is listed too (not taken for "already on the page").
  var listed = document.getElementById("notification-list");
  var lastId = listed ? listed.getAttribute("data-last-id") : null;
  var source = new EventSource("/notifications/stream" + (lastId && /^[0-9]+$/.test(lastId) ? "?last_event_id=" + lastId : ""));
  source.addEventListener("unread", function (e) {
    try { setCount(JSON.parse(e.data).count); } catch (err) { /* ignore a malformed event */ }
  });
  source.addEventListener("notification", function (e) {
    var item;
    try { item = JSON.parse(e.data); } catch (err) { return; }
    if (seen[item.id]) return;
    seen[item.id] = true;
    if (!item.read) setCount(count + 1);
    toast(item);
    addToList(item);
  });
  window.addEventListener("pagehide", function () { source.close(); });
})();

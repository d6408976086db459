// Kiosk behaviour for boards: poll with If-None-Match, swap only changed content, keep the
// content when the server is away (with the stale badge), retry with capped back-off, rotate
// overview pages, mark new rows and now/next, and reload fully once a night.
(function () {
  "use strict";
  var board = document.getElementById("board");
  if (!board) { return; }
  var pollMs = Math.max(1, Number(board.dataset.pollS) || 30) * 1000;
  var maxBackoffMs = 5 * 60 * 1000;
  var requestTimeoutMs = 10 * 1000;
  var newForMs = 5 * 60 * 1000;
  var reloadHours = [3, 5];  // school-local: a full reload happens in this quiet window only
  var etag = board.dataset.etag || null;
  var skewMs = 0;            // server clock minus ours (X-Signage-Now, else the Date header)
  var failures = 0;
  var firstSeen = {};        // row key -> when it first appeared (0: on the first page load)
  var loadedDay = null;
  var staleBadge = document.getElementById("stale-badge");
  var pageTimers = [];
  var pageState = [];        // per day's section: the page on show, and since when
  var timeFormat = new Intl.DateTimeFormat("de-DE", {
    hour: "2-digit", minute: "2-digit", hour12: false, timeZone: board.dataset.tz || undefined
  });
  var dayFormat = new Intl.DateTimeFormat("en-CA", { timeZone: board.dataset.tz || undefined });

  function now() { return Date.now() + skewMs; }
  function schoolTime() { return timeFormat.format(new Date(now())); }
  function schoolDay() { return dayFormat.format(new Date(now())); }
  function region() { return board.querySelector(".region"); }
  function hasData(r) { return Boolean(r && r.dataset.asOf); }

  function updateStale(serverAway) {
    var r = region();
    var asOf = hasData(r) ? Date.parse(r.dataset.asOf) : NaN;
    var limit = r ? Number(r.dataset.staleAfter) * 1000 : 0;
    var stale = hasData(r) && (serverAway || now() - asOf > limit);
    if (staleBadge) { staleBadge.hidden = !stale; }
  }

  function markRows(initial) {
    var t = now();
    var hhmm = schoolTime();
    var present = {};
    var current = null;
    var next = null;
    board.querySelectorAll(".row").forEach(function (row) {
      var key = row.dataset.key;
      present[key] = true;
      if (!(key in firstSeen)) { firstSeen[key] = initial ? 0 : t; }
      var isNew = firstSeen[key] && t - firstSeen[key] < newForMs;
      var badge = row.querySelector(".badge.new");
      if (isNew && !badge) {
        badge = document.createElement("span");
        badge.className = "badge new";
        badge.textContent = board.dataset.newLabel || "new";
        row.querySelector(".kinds").appendChild(badge);
      } else if (!isNew && badge) {
        badge.remove();
      }
      var section = row.closest(".day");
      var today = Boolean(section) && section.dataset.today === "yes";
      var cancelled = row.classList.contains("kind-cancelled");
      row.classList.toggle("past", today && row.dataset.end <= hhmm);
      if (today && !cancelled && !current && row.dataset.start <= hhmm && hhmm < row.dataset.end) {
        current = row;
      }
      if (today && !cancelled && !next && row.dataset.start > hhmm) { next = row; }
    });
    board.querySelectorAll(".row").forEach(function (row) {
      row.classList.toggle("now", row === current);
      row.classList.toggle("next", row === next);
    });
    Object.keys(firstSeen).forEach(function (key) {
      if (!present[key]) { delete firstSeen[key]; }  // screens run for months
    });
  }

  // Each day's section pages on its own. A swap keeps the page on show and its dwell: on a
  // busy morning the board changes more often than a page's dwell, and starting over at page 1
  // each time never showed the later pages.
  function rotatePages() {
    pageTimers.forEach(clearTimeout);
    pageTimers = [];
    var r = region();
    if (r && r.dataset.groupSize && r.dataset.groupDwellS) { showGroupPages(); return; }
    board.querySelectorAll(".day").forEach(function (section, d) {
      var pages = section.querySelectorAll(".page");
      var state = pageState[d] || (pageState[d] = { index: 0, shownAt: Date.now() });
      if (pages.length < 2) { state.index = 0; state.shownAt = Date.now(); return; }
      if (state.index >= pages.length) { state.index = 0; state.shownAt = Date.now(); }
      function dwellMs() { return Number(pages[state.index].dataset.dwellS || 10) * 1000; }
      function show(delay) {
        pages.forEach(function (page, i) { page.hidden = i !== state.index; });
        pageTimers[d] = setTimeout(function () {
          state.index = (state.index + 1) % pages.length;
          state.shownAt = Date.now();
          show(dwellMs());
        }, delay);
      }
      show(Math.max(0, dwellMs() - (Date.now() - state.shownAt)));
    });
  }

  // A display of a group (screens side by side sharing one overview): screen k shows page k,
  // and with more pages than screens the group turns them together, a round per dwell. Each
  // screen works it out from the server's clock alone, so one that drops out stops no other.
  function showGroupPages() {
    var r = region();
    var size = Number(r.dataset.groupSize);
    var position = Number(r.dataset.groupPosition);
    var dwellMs = Number(r.dataset.groupDwellS) * 1000;
    var round = Math.floor(now() / dwellMs);
    board.querySelectorAll(".day").forEach(function (section) {
      var pages = section.querySelectorAll(".page");
      if (!pages.length) { return; }
      var rounds = Math.ceil(pages.length / size);
      var index = ((round % rounds) * size + position - 1) % pages.length;
      pages.forEach(function (page, i) { page.hidden = i !== index; });
    });
    pageTimers = [setTimeout(rotatePages, dwellMs - (now() % dwellMs) + 50)];
  }

  // Swap the region only when its content changed; a new "Stand" alone updates attributes and
  // one line, so an unchanged board keeps its DOM (and its page rotation) as it is.
  var lastContent = contentHtml(region());

  function contentHtml(r) {
    var content = r && r.querySelector(".content");
    return content ? content.innerHTML : null;
  }

  function apply(html) {
    var holder = document.createElement("div");
    holder.innerHTML = html;
    var incoming = holder.querySelector(".region");
    var current = region();
    if (!incoming) { return; }
    if (incoming.dataset.screen === "asleep") {  // on-hours are over: the asleep page
      window.location.reload();
      return;
    }
    if (!hasData(current) && hasData(incoming)) {
      window.location.reload();  // the first data: load the whole page, header included
      return;
    }
    var content = contentHtml(incoming);
    if (current && content === lastContent) {
      ["asOf", "staleAfter", "today", "version"].forEach(function (name) {
        current.dataset[name] = incoming.dataset[name];
      });
      var day = incoming.querySelector(".board-day");
      var oldDay = current.querySelector(".board-day");
      if (day && oldDay && oldDay.innerHTML !== day.innerHTML) { oldDay.innerHTML = day.innerHTML; }
      return;
    }
    lastContent = content;
    if (current) { board.replaceChild(incoming, current); } else { board.appendChild(incoming); }
    rotatePages();
  }

  function reloadIfDue() {
    // Long-running pages leak: once a night, after a good check, start afresh.
    // The day the page loaded on, by the server's clock: known from the first answer on (a
    // kiosk whose own clock is days off would otherwise reload at every poll in the window).
    if (loadedDay === null) { loadedDay = schoolDay(); return; }
    var hour = Number(schoolTime().slice(0, 2));
    if (loadedDay !== schoolDay() && hour >= reloadHours[0] && hour < reloadHours[1]) {
      window.location.reload();
    }
  }

  function schedule() {
    var delay = failures ? Math.min(pollMs * Math.pow(2, failures), maxBackoffMs) : pollMs;
    setTimeout(poll, delay);
  }

  function poll() {
    var headers = etag ? { "If-None-Match": etag } : {};
    // The heartbeat a paired display reports with each poll (other boards ignore it).
    var shown = region();
    headers["X-Signage-Shown"] = (shown && shown.dataset.version) || "";
    headers["X-Signage-Screen"] = window.screen.width + "x" + window.screen.height;
    headers["X-Signage-App"] = board.dataset.app || "";
    var controller = new AbortController();
    var timer = setTimeout(function () { controller.abort(); }, requestTimeoutMs);
    var askedAt = Date.now();
    fetch(board.dataset.pollUrl, { headers: headers, cache: "no-store", signal: controller.signal })
      .then(function (response) {
        var date = response.headers.get("Date");
        var serverMs = Number(response.headers.get("X-Signage-Now"));
        if (serverMs) {
          skewMs = serverMs + (Date.now() - askedAt) / 2 - Date.now();  // half the round trip
        } else if (date) {
          skewMs = Date.parse(date) - Date.now();
        }
        if (response.status === 304) { return null; }
        if (response.status === 410) {  // this display was revoked: show a pairing code
          window.location.reload();
          return null;
        }
        if (response.status === 503 && !hasData(region())) { return null; }  // no data yet
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        etag = response.headers.get("ETag");
        return response.text();
      })
      .then(function (html) {
        failures = 0;
        if (html !== null) { apply(html); }
        markRows(false);
        updateStale(false);
        reloadIfDue();
      })
      .catch(function () {
        failures += 1;
        updateStale(true);
      })
      .then(function () {
        clearTimeout(timer);
        schedule();
      });
  }

  function tick() {
    var clock = document.getElementById("clock");
    if (clock) { clock.textContent = schoolTime(); }
  }

  // Boards page by rows (?rows=); when a page is taller than its day's box and the operator
  // chose no number, load again with fewer rows (marked fit=1), until every page fits.
  function fitPages() {
    var search = window.location.search;
    if (/[?&]rows=/.test(search) && !/[?&]fit=1/.test(search)) { return; }
    var worst = 1;  // the largest share of its day's box that a page needs
    board.querySelectorAll(".day").forEach(function (section) {
      var box = section.getBoundingClientRect();
      var room = box.height - parseFloat(getComputedStyle(section).paddingBottom || "0");
      var pages = section.querySelectorAll(".page");
      var shown = [].map.call(pages, function (page) { return !page.hidden; });
      pages.forEach(function (page) {  // each page alone, where it would stand
        pages.forEach(function (other) { other.hidden = other !== page; });
        var need = page.getBoundingClientRect().bottom - box.top;
        worst = Math.max(worst, need / Math.max(1, room));
      });
      pages.forEach(function (page, i) { page.hidden = !shown[i]; });
    });
    var rows = Number(board.dataset.rows) || 16;
    if (worst <= 1.001 || rows <= 1) { return; }
    var url = new URL(window.location.href);
    url.searchParams.set("rows", String(Math.min(rows - 1, Math.max(1, Math.floor(rows / worst)))));
    url.searchParams.set("fit", "1");
    window.location.replace(url.toString());
  }

  fitPages();
  tick();
  setInterval(tick, 1000);
  markRows(true);
  updateStale(false);
  rotatePages();
  schedule();
})();

// Kiosk behaviour for boards: poll with If-None-Match, swap only the board region, keep the
// content when the server is away (with the stale badge), retry with capped back-off, rotate
// overview pages, mark new rows, and reload fully once a day at a quiet hour.
(function () {
  "use strict";
  var board = document.getElementById("board");
  if (!board) { return; }
  var pollMs = Math.max(1, Number(board.dataset.pollS) || 30) * 1000;
  var maxBackoffMs = 5 * 60 * 1000;
  var newForMs = 5 * 60 * 1000;
  var etag = board.dataset.etag || null;
  var skewMs = 0;            // server clock minus ours, from the Date header
  var failures = 0;
  var firstSeen = {};        // row key -> time it first appeared
  var loadedDay = new Date().toDateString();
  var staleBadge = document.getElementById("stale-badge");
  var pageTimer = null;

  function region() { return board.querySelector(".region"); }

  function now() { return Date.now() + skewMs; }

  // Clock and "past" marks in the school's zone, whatever zone the kiosk's system is set to.
  var timeFormat = new Intl.DateTimeFormat("de-DE", {
    hour: "2-digit", minute: "2-digit", hour12: false, timeZone: board.dataset.tz || undefined
  });

  function schoolTime() { return timeFormat.format(new Date(now())); }

  function updateStale(serverAway) {
    var r = region();
    var asOf = r && r.dataset.asOf ? Date.parse(r.dataset.asOf) : NaN;
    var limit = r ? Number(r.dataset.staleAfter) * 1000 : 0;
    var stale = serverAway || (!isNaN(asOf) && now() - asOf > limit);
    if (staleBadge) { staleBadge.hidden = !stale; }
  }

  function markRows(initial) {
    var t = now();
    var hhmm = schoolTime();
    board.querySelectorAll(".row").forEach(function (row) {
      var key = row.dataset.key;
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
      row.classList.toggle("past", row.dataset.end <= hhmm);
    });
  }

  function rotatePages() {
    if (pageTimer) { clearTimeout(pageTimer); pageTimer = null; }
    var pages = board.querySelectorAll(".page");
    if (pages.length < 2) { return; }
    var index = 0;
    function show() {
      pages.forEach(function (page, i) { page.hidden = i !== index; });
      pageTimer = setTimeout(function () {
        index = (index + 1) % pages.length;
        show();
      }, Number(pages[index].dataset.dwellS || 10) * 1000);
    }
    show();
  }

  // Swap the region only when its content changed; a new "Stand" alone updates two attributes
  // and one text, so an unchanged board keeps its DOM (and its page rotation) as it is.
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
    var content = contentHtml(incoming);
    if (current && content === lastContent) {
      current.dataset.asOf = incoming.dataset.asOf;
      current.dataset.staleAfter = incoming.dataset.staleAfter;
      var day = incoming.querySelector(".board-day");
      var oldDay = current.querySelector(".board-day");
      if (day && oldDay && oldDay.innerHTML !== day.innerHTML) { oldDay.innerHTML = day.innerHTML; }
      return;
    }
    lastContent = content;
    if (current) { board.replaceChild(incoming, current); } else { board.appendChild(incoming); }
    rotatePages();
  }

  function schedule() {
    var delay = failures ? Math.min(pollMs * Math.pow(2, failures), maxBackoffMs) : pollMs;
    setTimeout(poll, delay);
  }

  function poll() {
    var headers = etag ? { "If-None-Match": etag } : {};
    fetch(board.dataset.pollUrl, { headers: headers, cache: "no-store" })
      .then(function (response) {
        var date = response.headers.get("Date");
        if (date) { skewMs = Date.parse(date) - Date.now(); }
        if (response.status === 304) { return null; }
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        etag = response.headers.get("ETag");
        return response.text();
      })
      .then(function (html) {
        failures = 0;
        if (html !== null) { apply(html); }
        markRows(false);
        updateStale(false);
        if (new Date().toDateString() !== loadedDay && new Date().getHours() >= 3) {
          window.location.reload();  // once a day, after a good check: long-lived pages leak
        }
      })
      .catch(function () {
        failures += 1;
        updateStale(true);
      })
      .then(schedule);
  }

  function tick() {
    var clock = document.getElementById("clock");
    if (clock) { clock.textContent = schoolTime(); }
  }

  tick();
  setInterval(tick, 1000);
  markRows(true);
  updateStale(false);
  rotatePages();
  schedule();
})();

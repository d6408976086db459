// A screen asleep on purpose: ask now and then whether to wake (that poll is also the display's
// heartbeat), and at the scheduled time; load the board once the answer is no longer "asleep".
// A dim clock shows the screen is not broken.
(function () {
  "use strict";
  var box = document.getElementById("asleep");
  if (!box) { return; }
  var pollMs = Math.max(1, Number(box.dataset.pollS) || 60) * 1000;
  var until = Date.parse(box.dataset.until || "");
  var clock = document.getElementById("clock");
  var format = new Intl.DateTimeFormat("de-DE", {
    hour: "2-digit", minute: "2-digit", hour12: false, timeZone: box.dataset.tz || undefined
  });

  function tick() { if (clock) { clock.textContent = format.format(new Date()); } }

  function poll() {
    fetch(box.dataset.pollUrl, { cache: "no-store", credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (html !== null && html.indexOf('data-screen="asleep"') < 0) {
          window.location.reload();  // awake: the board
          return;
        }
        schedule();
      })
      .catch(schedule);  // the server away: stay dark, ask again
  }

  function schedule() {
    var wait = pollMs;
    if (until && until > Date.now()) { wait = Math.min(wait, until - Date.now() + 1000); }
    setTimeout(poll, wait);
  }

  tick();
  setInterval(tick, 30 * 1000);
  schedule();
})();

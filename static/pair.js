// A kiosk waiting to be paired: ask every few seconds whether the admin entered its code;
// reload once it has (the board appears) or once the code expired (a new one appears).
(function () {
  "use strict";
  var box = document.getElementById("pairing");
  if (!box) { return; }
  var pollMs = Math.max(1, Number(box.dataset.pollS) || 3) * 1000;

  function poll() {
    fetch(box.dataset.pollUrl, { cache: "no-store", credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (answer) {
        if (answer && answer.state !== "waiting") {
          window.location.reload();
          return;
        }
        setTimeout(poll, pollMs);
      })
      .catch(function () { setTimeout(poll, pollMs * 5); });  // server away: keep the code up
  }
  setTimeout(poll, pollMs);
})();

// The payment page. While the platform has not decided, ask the hub every few seconds (the hub
// reads the platform itself) and reload once the state changed, so the page shows the outcome.
// When the citizen came from the call page in this browser, offer the way back to it.
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("pay-config").textContent);
  var back = document.getElementById("back-to-call");
  var call = null;
  try { call = window.localStorage.getItem("bv-call-return"); } catch (e) { /* private mode */ }
  if (back && call && call.indexOf(window.location.origin + "/join/") === 0) {
    back.href = call;
    back.hidden = false;
  }
  if (!config.wait) return;
  var tries = 0;
  function ask() {
    tries += 1;
    fetch(config.state_url, { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (answer) {
        if (answer && answer.state !== config.state) {
          window.location.reload();
        } else if (tries < 150) { // five minutes; the button stays for later
          window.setTimeout(ask, 2000);
        }
      })
      .catch(function () { if (tries < 150) { window.setTimeout(ask, 4000); } });
  }
  window.setTimeout(ask, 2000);
})();

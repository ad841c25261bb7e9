// The device page of /it/devices/<id>: while one of its actions is still open, fetch the list
// of actions every 3 s and show it, so IT sees requested → sent → … → done without reloading.
(function () {
  "use strict";
  var PERIOD_MS = 3000;

  function current() { return document.getElementById("actions"); }

  async function refresh() {
    var box = current();
    if (!box || box.dataset.open !== "1") return;
    try {
      var answer = await fetch(box.dataset.source, {credentials: "same-origin"});
      if (!answer.ok) return;
      var fresh = new DOMParser().parseFromString(await answer.text(), "text/html")
        .getElementById("actions");
      if (fresh) box.replaceWith(document.importNode(fresh, true));
    } catch (e) {
      // the hub is away for a moment: try again with the next round
    }
  }

  setInterval(refresh, PERIOD_MS);
})();

// The device page of /it/devices/<id>: while one of its actions is still open, fetch the list
// of actions again and show it, so IT sees requested → sent → … → done without reloading.
// First after 2 s, then less and less often (up to every 30 s: an action may wait for a long
// call to end); not while the tab is hidden. Signed out meanwhile, the answer is the sign-in
// page, which has no list: the one shown stays.
(function () {
  "use strict";
  var FIRST_MS = 2000;
  var LAST_MS = 30000;
  var delay = FIRST_MS;

  async function refresh() {
    var box = document.getElementById("actions");
    if (!box || box.dataset.open !== "1") return;
    if (!document.hidden) {
      try {
        var answer = await fetch(box.dataset.source, {credentials: "same-origin"});
        if (answer.ok) {
          var fresh = new DOMParser().parseFromString(await answer.text(), "text/html")
            .getElementById("actions");
          if (fresh) {
            box.replaceWith(document.importNode(fresh, true));
            box = fresh;
          }
        }
      } catch (e) {
        // the hub is away for a moment: try again with the next round
      }
    }
    if (box.dataset.open !== "1") return;
    delay = Math.min(delay * 1.5, LAST_MS);
    setTimeout(refresh, delay);
  }

  setTimeout(refresh, FIRST_MS);
})();

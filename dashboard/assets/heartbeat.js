/* The wall's heartbeat: is the server still there?
 *
 * Every few seconds the page asks the server's small health endpoint (/_wall/health, served
 * by carbon.dashboard.server). After MISSES answers in a row fail (no answer within TIMEOUT,
 * an HTTP error, or a network error), the screen greys out under a banner that says the
 * server is unreachable and since when; the last numbers stay readable under it, marked as
 * old. When the server answers again the banner goes; if it is a restarted server (a new boot
 * id), the page reloads itself so it runs the new server's callbacks.
 *
 * Plain JavaScript, no library; Dash serves this file from assets/ with the page (no CDN).
 */
(function () {
  "use strict";
  var PATH = "_wall/health";
  var EVERY = 3000;      // ms between heartbeats
  var TIMEOUT = 2500;    // ms an answer may take
  var MISSES = 2;        // failed heartbeats in a row before the screen says so
  var missed = 0;
  var boot = null;
  var lastOk = null;      // the time of the last answer, as the header's clock showed it
  var overlay = null;

  function base() {
    // the page's own path prefix (the app may be served under a path behind a proxy)
    var p = window.location.pathname;
    return p.endsWith("/") ? p : p.replace(/[^/]*$/, "");
  }

  function two(n) { return (n < 10 ? "0" : "") + n; }

  function now() {
    // the header's clock is in the twin's time zone; fall back to the browser's
    var clock = document.getElementById("clock");
    var m = clock && clock.innerText.match(/\d{1,2}:\d{2}:\d{2}/g);
    if (m) { return m[m.length - 1]; }
    var d = new Date();
    return two(d.getHours()) + ":" + two(d.getMinutes()) + ":" + two(d.getSeconds());
  }

  function show() {
    if (!overlay) {
      overlay = document.createElement("div");
      overlay.id = "wall-offline";
      overlay.setAttribute("role", "alert");
      overlay.className = "wall-offline";
      document.body.appendChild(overlay);
    }
    var t = lastOk || now();
    overlay.innerHTML =
      '<div class="wall-offline-card">' +
      '<div class="wall-offline-title">与大屏服务器的连接已中断</div>' +
      '<div class="wall-offline-en">Connection to the wall server lost</div>' +
      '<div class="wall-offline-detail">所示数据停留在 ' + t + ',可能已过时;' +
      '连接恢复后自动更新 · figures as of ' + t + ', may be out of date; ' +
      'they update by themselves when the server is back</div></div>';
    document.body.classList.add("wall-is-offline");
  }

  function hide() {
    document.body.classList.remove("wall-is-offline");
    if (overlay) { overlay.remove(); overlay = null; }
  }

  function failed() {
    missed += 1;
    if (missed >= MISSES) { show(); }
  }

  function beat() {
    var ctrl = window.AbortController ? new AbortController() : null;
    var timer = setTimeout(function () { if (ctrl) { ctrl.abort(); } }, TIMEOUT);
    fetch(base() + PATH, {cache: "no-store", credentials: "same-origin",
                          signal: ctrl ? ctrl.signal : undefined})
      .then(function (r) {
        clearTimeout(timer);
        if (!r.ok) { throw new Error("HTTP " + r.status); }
        return r.json();
      })
      .then(function (body) {
        var restarted = boot !== null && body && body.boot && body.boot !== boot;
        if (body && body.boot) { boot = body.boot; }
        missed = 0;
        lastOk = now();
        if (restarted) { window.location.reload(); return; }
        hide();
      })
      .catch(function () { clearTimeout(timer); failed(); });
  }

  window.carbonWallHeartbeat = {every: EVERY, timeout: TIMEOUT, misses: MISSES};
  setInterval(beat, EVERY);
  beat();
})();

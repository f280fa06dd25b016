/* The wall's one scale: the page is laid out on a 1920 x 1080 design canvas (wall.css, where
 * every size is in design pixels) and this script scales the canvas as a whole to the window by
 * the smaller of the two ratios, centred (docs/research/wallscreen.md §2.3: DataV and Sugar do
 * the same with CSS transform: scale()). Page text and chart text (plotly draws in the same
 * design pixels) therefore keep their proportions: 2 screen px per design px on a 3840 x 2160
 * wall, 0.71 on a 1366 x 768 laptop. plotly.js maps pointer positions through CSS transforms, so
 * hover and click work at any scale.
 *
 * Plain JavaScript, no library, served from assets/ with the page (no CDN).
 */
(function () {
  "use strict";
  var WIDTH = 1920, HEIGHT = 1080;

  function fit() {
    var w = window.innerWidth || document.documentElement.clientWidth || WIDTH;
    var h = window.innerHeight || document.documentElement.clientHeight || HEIGHT;
    var scale = Math.min(w / WIDTH, h / HEIGHT);
    if (!(scale > 0) || !isFinite(scale)) { scale = 1; }
    document.documentElement.style.setProperty("--scale", String(scale));
    window.carbonWallScale = scale;
  }

  fit();
  window.addEventListener("resize", fit);
})();

// Draws every chart of a page with ECharts, loaded from /static/vendor only when the page
// has a chart. A chart is an element with data-chart and a JSON option in the script
// element that names it (see web/templates/macros.html); HTMX swaps draw theirs too.
(function () {
  "use strict";
  var loading = null;

  function loadECharts() {
    if (window.echarts) return Promise.resolve(window.echarts);
    if (!loading) {
      loading = new Promise(function (resolve, reject) {
        var script = document.createElement("script");
        script.src = "/static/vendor/echarts.min.js";
        script.onload = function () { resolve(window.echarts); };
        script.onerror = reject;
        document.head.appendChild(script);
      });
    }
    return loading;
  }

  function draw(root) {
    var pending = root.querySelectorAll("[data-chart]:not([data-drawn])");
    if (!pending.length) return;
    loadECharts().then(function (echarts) {
      pending.forEach(function (element) {
        var source = document.querySelector('script[data-chart-for="' + element.id + '"]');
        if (!source) return;
        var chart = echarts.init(element, null, { renderer: "svg" });
        chart.setOption(JSON.parse(source.textContent));
        element.setAttribute("data-drawn", "true");
        if (window.ResizeObserver) {
          new ResizeObserver(function () { chart.resize(); }).observe(element);
        }
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () { draw(document); });
  document.addEventListener("htmx:afterSwap", function (event) { draw(event.target); });
})();

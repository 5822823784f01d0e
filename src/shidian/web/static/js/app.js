// Shidian: send the CSRF token with every HTMX request; draw ECharts charts declared in the page.
document.addEventListener("htmx:configRequest", function (event) {
  var meta = document.querySelector('meta[name="csrf-token"]');
  if (meta) { event.detail.headers["X-CSRF-Token"] = meta.content; }
});

var shidianEchartsLoading = null;

// ECharts (1 MB) is loaded once, the first time a page has a chart: pages need not ask for it.
function shidianWithEcharts(then) {
  if (typeof echarts !== "undefined") { then(); return; }
  if (!shidianEchartsLoading) {
    shidianEchartsLoading = document.createElement("script");
    shidianEchartsLoading.src = "/static/vendor/echarts.min.js";
    document.head.appendChild(shidianEchartsLoading);
  }
  shidianEchartsLoading.addEventListener("load", then);
}

function shidianDrawCharts(root) {
  var scope = root || document;
  if (!scope.querySelector("[data-chart]")) { return; }
  if (typeof echarts === "undefined") { shidianWithEcharts(function () { shidianDrawCharts(root); }); return; }
  scope.querySelectorAll("[data-chart]").forEach(function (el) {
    var source = document.getElementById(el.dataset.chart);
    if (!source || el.dataset.drawn) { return; }
    var option = JSON.parse(source.textContent);
    var chart = echarts.init(el, null, { renderer: "canvas" });
    chart.setOption(option);
    el.dataset.drawn = "1";
    window.addEventListener("resize", function () { chart.resize(); });
  });
}
document.addEventListener("DOMContentLoaded", function () { shidianDrawCharts(document); });
document.addEventListener("htmx:afterSwap", function (event) { shidianDrawCharts(event.target); });

// A form with data-confirm asks before it is sent (publish, approve, reverse …); a button with
// data-print prints the page (the print stylesheet leaves the navigation out).
document.addEventListener("submit", function (event) {
  var form = event.target;
  if (form.dataset && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
    event.preventDefault();
  }
}, true);
document.addEventListener("click", function (event) {
  var target = event.target.closest ? event.target.closest("[data-print]") : null;
  if (target) { event.preventDefault(); window.print(); }
});

// Annual cost chart on the advice page: figures from <script type="application/json" id="chart-data">,
// translated series names from the chart element's data-label-* attributes.
(function () {
  const el = document.getElementById("cost-chart");
  if (!window.echarts || !el) return;
  const d = JSON.parse(document.getElementById("chart-data").textContent);
  const label = el.dataset;
  const chart = echarts.init(el);
  chart.setOption({
    // rich-text tooltips are drawn on the canvas: HTML ones carry style attributes the CSP blocks
    tooltip: {trigger: "axis", renderMode: "richText", axisPointer: {type: "shadow"}},
    legend: {data: [label.labelEquipment, label.labelEnergy, label.labelSubsidy, label.labelAnnual]},
    grid: {left: 60, right: 20, bottom: 40},
    xAxis: {type: "category", data: d.paths},
    yAxis: {type: "value", name: label.labelUnit},
    series: [
      {name: label.labelEquipment, type: "bar", stack: "c", data: d.equipment},
      {name: label.labelEnergy, type: "bar", stack: "c", data: d.energy},
      {name: label.labelSubsidy, type: "bar", stack: "c", data: d.subsidy},
      {name: label.labelAnnual, type: "line", data: d.annual, label: {show: true}}]
  });
  window.addEventListener("resize", () => chart.resize());
  el.dataset.ready = "1";
})();

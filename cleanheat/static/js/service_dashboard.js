// Winter dashboard of the hotline: an ECharts map of open "no heat" tickets per county (figures from the
// page's <script type="application/json" id="service-data"> block); a click lists that county's tickets.
(function () {
  const el = document.getElementById("chart-map");
  if (!el || typeof echarts === "undefined" || !echarts.getMap(el.dataset.mapName)) return;
  const data = JSON.parse(document.getElementById("service-data").textContent);
  const byName = Object.fromEntries(data.counties.map(c => [c.name, c]));
  const max = Math.max(1, ...data.counties.map(c => c.open_no_heat));
  const chart = echarts.init(el);
  chart.setOption({
    tooltip: {renderMode: "richText", formatter: p => p.name + "：" + (isNaN(p.value) ? 0 : p.value)},
    visualMap: {min: 0, max: max, calculable: true, inRange: {color: ["#fff3d6", "#f08c7e", "#a01b14"]}},
    series: [{type: "map", map: el.dataset.mapName, label: {show: true, fontSize: 10},
              data: data.counties.map(c => ({name: c.name, value: c.open_no_heat}))}]});
  chart.on("click", p => { const c = byName[p.name]; if (c) window.location = "/service/?status=open&category=no_heat&county=" + c.code; });
  window.addEventListener("resize", () => chart.resize());
})();

// Progress dashboard: milestone bar and ECharts charts; the figures come from the page's
// <script type="application/json" id="dashboard-data"> block.
(function () {
  // ECharts' HTML tooltips carry style attributes, which the CSP blocks; rich-text ones are drawn on the canvas.
  const TIP = {renderMode: "richText"};
  const data = JSON.parse(document.getElementById("dashboard-data").textContent);
  document.querySelectorAll("#milestones [data-left]").forEach(el => {
    el.style.left = el.dataset.left + "%";
    if (el.dataset.width) el.style.width = el.dataset.width + "%";
  });
  const level = data.region.level;
  const keep = data.query ? "?" + data.query : "";  // the plan year and "as of" date shown
  const drill = (code) => { window.location = (level >= 3 ? "/regions/" : "/dashboard/") + code + "/" + keep; };
  const names = data.units.map(u => u.name);
  const byName = Object.fromEntries(data.units.map(u => [u.name, u]));
  const charts = [];
  const make = (id, option) => { const el = document.getElementById(id); if (!el) return null;
    const c = echarts.init(el); c.setOption(option); charts.push(c); return c; };
  const completion = make("chart-completion", {
    tooltip: {...TIP, trigger: "axis"}, legend: {}, grid: {left: 60, right: 20, bottom: 80},
    xAxis: {type: "category", data: names, axisLabel: {rotate: 40, interval: 0}},
    yAxis: {type: "value", name: "户"},
    series: [
      {name: "目标", type: "bar", data: data.units.map(u => u.target), itemStyle: {color: "#c9d6e8"}},
      {name: "已完工", type: "bar", data: data.units.map(u => u.installed), itemStyle: {color: "#1d4e89"}},
      {name: "已验收", type: "bar", data: data.units.map(u => u.accepted), itemStyle: {color: "#3a9a5b"}},
    ]});
  completion && completion.on("click", p => drill(data.units[p.dataIndex].code));
  const mix = make("chart-mix", {tooltip: {...TIP, trigger: "item"}, legend: {bottom: 0},
    series: [{type: "pie", radius: ["35%", "65%"], data: data.path_mix, label: {formatter: "{b}\n{d}%"}}]});
  mix && mix.on("click", p => { window.location = "/households/?region=" + data.prefix + "&path=" + data.path_mix[p.dataIndex].path; });
  if (data.curve) {
    const series = [{name: "实际", type: "line", data: data.curve.actual, itemStyle: {color: "#1d4e89"}}];
    if (data.curve.planned) series.unshift({name: "计划", type: "line", data: data.curve.planned, lineStyle: {type: "dashed"}, itemStyle: {color: "#b3261e"}});
    const curve = make("chart-curve", {tooltip: {...TIP, trigger: "axis"}, legend: {}, grid: {left: 70, right: 20},
      xAxis: {type: "category", data: data.curve.labels}, yAxis: {type: "value", name: "户"}, series});
    curve && curve.on("click", p => { window.location = "/progress/" + data.region.code + "/?" + (data.year ? "year=" + data.year + "&" : "") + "asof=" + data.curve.labels[p.dataIndex]; });
  }
  const mapEl = document.getElementById("chart-map");
  const mapName = mapEl && mapEl.dataset.mapName;
  if (mapEl && echarts.getMap(mapName)) {
    const onMap = data.units.filter(u => u.name !== "五台山风景名胜区");
    const map = make("chart-map", {
      tooltip: {...TIP, formatter: p => p.name + "：完成率 " + (p.value == null || isNaN(p.value) ? "—" : p.value + "%")},
      visualMap: {min: 0, max: 100, text: ["100%", "0%"], calculable: true, inRange: {color: ["#f8c9c4", "#fff3d6", "#3a9a5b"]}},
      series: [{type: "map", map: mapName, label: {show: true, fontSize: 10},
                data: onMap.map(u => ({name: u.name, value: u.rate}))}]});
    map && map.on("click", p => byName[p.name] && drill(byName[p.name].code));
    const wutai = byName["五台山风景名胜区"];
    const tile = document.getElementById("wutai-tile");
    if (wutai && tile) {
      tile.innerHTML = '<a href="/dashboard/' + wutai.code + '/' + keep + '">五台山风景名胜区<br><strong>' +
        (wutai.rate == null ? "—" : wutai.rate + "%") + "</strong></a>";
    } else if (tile) { tile.remove(); }
  }
  window.addEventListener("resize", () => charts.forEach(c => c.resize()));
  window.cleanheatCharts = charts;
})();

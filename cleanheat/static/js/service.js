// Hotline and repair pages: the phone's position for "arrived" / "not home" (when it gives one), and
// "sort by distance" on the engineer's list. No position: the form is sent without it.
(function () {
  function locate(done) {
    if (!navigator.geolocation) { done(null); return; }
    var finished = false;
    var timer = setTimeout(function () { if (!finished) { finished = true; done(null); } }, 4000);
    navigator.geolocation.getCurrentPosition(function (p) {
      if (finished) return; finished = true; clearTimeout(timer); done(p.coords);
    }, function () {
      if (finished) return; finished = true; clearTimeout(timer); done(null);
    }, {timeout: 3500, maximumAge: 60000});
  }
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.hasAttribute("data-geo") || form.dataset.located) return;
    event.preventDefault();
    locate(function (coords) {
      if (coords) { form.elements.lat.value = coords.latitude.toFixed(6); form.elements.lon.value = coords.longitude.toFixed(6); }
      form.dataset.located = "1";
      form.submit();
    });
  });
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-near]");
    if (!button) return;
    locate(function (coords) {
      if (coords) { window.location.search = "?lat=" + coords.latitude.toFixed(6) + "&lon=" + coords.longitude.toFixed(6); }
    });
  });
})();

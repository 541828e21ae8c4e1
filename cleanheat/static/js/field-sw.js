// Keeps the field pages (现场检查) and their files for use without the network: network first, the
// kept copy when the network is down. Visits themselves wait in IndexedDB (field.js), not here.
var CACHE = "cleanheat-field-v1";
self.addEventListener("install", function () { self.skipWaiting(); });
self.addEventListener("activate", function (e) { e.waitUntil(self.clients.claim()); });
self.addEventListener("fetch", function (e) {
  var req = e.request;
  if (req.method !== "GET") { return; }
  e.respondWith(fetch(req).then(function (r) {
    if (r.ok) { var copy = r.clone(); caches.open(CACHE).then(function (c) { c.put(req, copy); }); }
    return r;
  }).catch(function () {
    return caches.match(req).then(function (r) { return r || Response.error(); });
  }));
});

// 现场检查（手机）: sends a visit to the API with an id made here; when the network is down the visit
// waits in IndexedDB and is sent when the network returns. The server keeps each id once, so a visit
// sent twice (a reply lost in a reconnect) is recorded once.
(function () {
  "use strict";
  var DB = "cleanheat-field", STORE = "visits";

  function openDb() {
    return new Promise(function (resolve, reject) {
      var req = indexedDB.open(DB, 1);
      req.onupgradeneeded = function () { req.result.createObjectStore(STORE, { keyPath: "client_id" }); };
      req.onsuccess = function () { resolve(req.result); };
      req.onerror = function () { reject(req.error); };
    });
  }
  function tx(mode, work) {
    return openDb().then(function (db) {
      return new Promise(function (resolve, reject) {
        var t = db.transaction(STORE, mode), out = work(t.objectStore(STORE));
        t.oncomplete = function () { resolve(out && out.result); };
        t.onerror = function () { reject(t.error); };
      });
    });
  }
  function put(v) { return tx("readwrite", function (s) { s.put(v); }); }
  function remove(id) { return tx("readwrite", function (s) { s.delete(id); }); }
  function all() { return tx("readonly", function (s) { return s.getAll(); }); }

  function newId() {
    if (window.crypto && crypto.randomUUID) { return crypto.randomUUID(); }
    var a = new Uint8Array(16); crypto.getRandomValues(a);
    return Array.prototype.map.call(a, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  function say(text, kind) {
    var box = document.getElementById("visit-status");
    if (box) { box.textContent = text; box.className = "visit-status " + (kind || ""); }
  }
  function count() {
    return all().then(function (items) {
      var box = document.getElementById("queue-count");
      var waiting = items.filter(function (v) { return !v.error; }).length;
      if (box) { box.textContent = waiting ? "本机待发送：" + waiting + " 条" : ""; }
      return items;
    });
  }

  function collect(form) {
    var answers = {}, files = [];
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name) { return; }
      if (el.name.indexOf("item_") === 0) {
        if ((el.type === "radio" || el.type === "checkbox") && !el.checked) { return; }
        answers[el.name.slice(5)] = el.value;
      } else if (el.name.indexOf("photo_") === 0 && el.files) {
        Array.prototype.forEach.call(el.files, function (f) { files.push({ name: el.name, blob: f, filename: f.name }); });
      }
    });
    return {
      client_id: form.dataset.clientId, url: form.dataset.api, household: form.dataset.household,
      csrf: form.querySelector("input[name=csrfmiddlewaretoken]").value,
      fields: [["client_id", form.dataset.clientId], ["sample_id", form.dataset.sample],
               ["answers", JSON.stringify(answers)], ["visited_at", new Date().toISOString()]],
      files: files, queued_at: Date.now()
    };
  }

  function send(v) {
    var body = new FormData();
    v.fields.forEach(function (f) { body.append(f[0], f[1]); });
    v.files.forEach(function (f) { body.append(f.name, f.blob, f.filename); });
    return fetch(v.url, { method: "POST", body: body, credentials: "same-origin", headers: { "X-CSRFToken": v.csrf } });
  }

  function explain(body) {
    var errors = (body && body.errors) || {}, lines = [];
    Object.keys(errors).forEach(function (k) { lines = lines.concat(errors[k]); });
    return lines.join("；") || (body && body.detail) || "未保存";
  }

  // Sends one queued visit: true when the server has it (now or before), false when the network is down.
  function deliver(v) {
    return send(v).then(function (r) {
      if (r.status === 200 || r.status === 201) {
        return r.json().catch(function () { return {}; }).then(function (body) {
          var notes = (body && body.warnings) || [];
          return remove(v.client_id).then(function () {
            say("已发送：户 " + v.household + " 的检查记录" + (notes.length ? "。照片提示：" + notes.join("；") : ""), "ok");
            return true;
          });
        });
      }
      return r.json().catch(function () { return {}; }).then(function (body) {
        v.error = explain(body);
        return put(v).then(function () { say("户 " + v.household + " 的检查记录未保存：" + v.error, "error"); return true; });
      });
    }, function () { return false; });
  }

  var flushing = false;
  function flush() {
    if (flushing) { return Promise.resolve(); }
    flushing = true;
    return all().then(function (items) {
      var waiting = items.filter(function (v) { return !v.error; });
      return waiting.reduce(function (p, v) {
        return p.then(function (online) { return online ? deliver(v) : false; });
      }, Promise.resolve(true));
    }).then(function () { flushing = false; return count(); }, function () { flushing = false; });
  }

  function setUp(form) {
    form.dataset.clientId = newId();
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var v = collect(form), button = form.querySelector("button[type=submit]");
      button.disabled = true;
      put(v).then(function () {   // kept on the phone first: nothing is lost if the page closes
        return deliver(v).then(function (online) {
          if (!online) { say("网络不通：检查记录已保存在本机，联网后自动发送", "queued"); }
          form.dataset.clientId = newId();
          form.reset();
          button.disabled = false;
          return count();
        });
      });
    });
  }

  // 按距离排序: the phone's position (asked here, optional) is sent as ?lat=&lon=; the server orders.
  function nearestFirst(button) {
    button.addEventListener("click", function () {
      if (!navigator.geolocation) { say(button.dataset.denied, "error"); return; }
      button.disabled = true;
      navigator.geolocation.getCurrentPosition(function (p) {
        window.location.search = "?lat=" + p.coords.latitude.toFixed(5) + "&lon=" + p.coords.longitude.toFixed(5);
      }, function () { button.disabled = false; say(button.dataset.denied, "error"); },
      { enableHighAccuracy: false, timeout: 15000, maximumAge: 300000 });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("visit-form");
    if (form) { setUp(form); }
    var near = document.getElementById("nearest-first");
    if (near) { nearestFirst(near); }
    var app = document.getElementById("field-app");
    if ("serviceWorker" in navigator && app && app.dataset.worker) {
      navigator.serviceWorker.register(app.dataset.worker, { scope: "/inspections/field/" })
        .catch(function () { /* the pages still work online */ });
    }
    window.addEventListener("online", flush);
    flush();
  });
  window.cleanheatField = { flush: flush, queued: all };
})();

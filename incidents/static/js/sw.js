// The service worker, served at /sw.js (scope: the whole app) by incidents/main/webapp.py.
//
// It keeps only what holds no personal data: the app's static files, the manifest, and the
// two offline shells (the report form and the quick log without a name, a count or a CSRF
// token, rendered by incidents/reporting/offline.py). It never keeps any other page.
//
// - A navigation to the report form or the quick log goes to the network; when that fails
//   (no network) the cached shell answers instead.
// - Posting one of those forms goes to the network; when that fails the report is kept in
//   the encrypted outbox (static/js/outbox.js) and the browser is sent to the form's address
//   with its token, where offline.js shows that it waits and sends it once the network is back.
// - Static files: from the network (so a new version shows at once), kept for when it fails.
importScripts("static/js/outbox.js");

var CACHE = "incidents-offline-v1";
var BASE = self.registration.scope;
// The CSRF token for sending what waits: without a network the worker answers 204, so the
// page learns it is offline from an answer rather than from a failed request.
var TOKEN = "incidents/offline/token";
// A form's path -> the path of its shell.
var SHELLS = {
  "incidents/new": "incidents/offline/report",
  "incidents/quick": "incidents/offline/quick"
};
var PRECACHE = [
  "manifest.webmanifest",
  "static/css/app.css",
  "static/js/outbox.js",
  "static/js/offline.js",
  "static/favicon.svg",
  "static/icons/icon.svg",
  "static/icons/icon-192.png",
  "static/icons/icon-512.png"
];
// A shell is fetched again when it is older than this, or in another language than the page.
var SHELL_MAX_AGE_MS = 60 * 60 * 1000;
var KEPT_AT = "X-Incidents-Kept-At";

function at(path) { return new URL(path, BASE).href; }

function relative(url) {
  return url.origin === new URL(BASE).origin && url.href.indexOf(BASE) === 0
    ? url.href.slice(BASE.length).split(/[?#]/)[0]
    : null;
}

function isKept(path) {
  return path === "manifest.webmanifest" || path.indexOf("static/") === 0;
}

// Keep a copy of a good, same-origin answer (never one that was redirected: a login page).
function store(cache, key, response) {
  if (!response.ok || response.redirected || response.type !== "basic") { return Promise.resolve(false); }
  return response.clone().blob().then(function (body) {
    var headers = new Headers(response.headers);
    headers.set(KEPT_AT, String(Date.now()));
    return cache.put(key, new Response(body, { status: response.status, headers: headers }));
  }).then(function () { return true; });
}

// The static files a shell uses (its stylesheets, scripts, icons), so it also looks and works
// offline when the form itself was never opened online.
function assetsOf(html) {
  var found = [];
  var pattern = /(?:href|src)="([^"]+)"/g;
  var match;
  while ((match = pattern.exec(html)) !== null) {
    var url = new URL(match[1].replace(/&amp;/g, "&"), BASE);
    var path = relative(url);
    if (path !== null && isKept(path)) { found.push(url.href); }
  }
  return found;
}

function fetchShell(cache, path) {
  var url = at(path);
  return fetch(url, { credentials: "same-origin", cache: "no-store" }).then(function (response) {
    var html = response.headers.get("Content-Type") || "";
    if (new URL(response.url).href !== url || html.indexOf("text/html") !== 0) { return false; }
    return response.clone().text().then(function (text) {
      return store(cache, url, response).then(function (kept) {
        if (!kept) { return false; }
        return Promise.all(assetsOf(text).map(function (asset) {
          return cache.match(asset).then(function (hit) {
            return hit || fetch(asset).then(function (r) { return store(cache, asset, r); });
          });
        })).then(function () { return true; });
      });
    });
  }).catch(function () { return false; });
}

// Make sure both shells are kept, fresh and in the page's language; true when they are.
function ensureShells(lang) {
  return caches.open(CACHE).then(function (cache) {
    return Promise.all(Object.keys(SHELLS).map(function (form) {
      var path = SHELLS[form];
      return cache.match(at(path)).then(function (hit) {
        var age = hit ? Date.now() - Number(hit.headers.get(KEPT_AT) || 0) : Infinity;
        var sameLanguage = !lang || (hit && hit.headers.get("Content-Language") === lang);
        if (hit && sameLanguage && age < SHELL_MAX_AGE_MS) { return true; }
        return fetchShell(cache, path).then(function (fetched) { return fetched || Boolean(hit); });
      });
    }));
  }).then(function (results) {
    return results.every(Boolean);
  });
}

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(CACHE).then(function (cache) {
    return Promise.all(PRECACHE.map(function (path) {
      return fetch(at(path)).then(function (r) { return store(cache, at(path), r); }, function () { return false; });
    }));
  }).then(function () { return ensureShells(null); }).then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (name) { return name !== CACHE; }).map(function (name) {
      return caches.delete(name);
    }));
  }).then(function () { return self.clients.claim(); }));
});

// A page asks for the shells (after each signed-in page load): answered on its port.
self.addEventListener("message", function (event) {
  var data = event.data || {};
  var port = event.ports && event.ports[0];
  if (data.type !== "shells" || !port) { return; }
  event.waitUntil(ensureShells(data.lang || null).then(function (ready) {
    port.postMessage({ ready: ready });
  }, function () { port.postMessage({ ready: false }); }));
});

function shellFor(form) {
  return caches.match(at(SHELLS[form]), { cacheName: CACHE }).then(function (hit) {
    return hit || Response.error();
  });
}

// The network failed while posting a form: keep the report, and show the form's address with
// its token (answered by the shell, where offline.js shows that the report waits).
function keepPosted(copy, form) {
  return Promise.all([copy.formData(), self.IncidentsOutbox.user()]).then(function (both) {
    var data = both[0];
    var user = both[1];
    var fields = [];
    data.forEach(function (value, name) {
      if (typeof value === "string") { fields.push([name, value]); }
    });
    var token = data.get("submission_token");
    var url = new URL(form, BASE).pathname + "?t=" + encodeURIComponent(token);
    return self.IncidentsOutbox.keep(user, url, fields).then(function () {
      return Response.redirect(new URL(url, BASE).href, 303);
    });
  }).catch(function () { return Response.error(); });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  var path = relative(new URL(request.url));
  if (path === null) { return; }
  if (request.mode === "navigate" && Object.prototype.hasOwnProperty.call(SHELLS, path)) {
    // Known to be offline: no need to wait for the network to fail.
    var offline = self.navigator.onLine === false;
    if (request.method === "GET") {
      event.respondWith(offline ? shellFor(path) : fetch(request).catch(function () { return shellFor(path); }));
    } else if (request.method === "POST") {
      var copy = request.clone();
      event.respondWith(offline ? keepPosted(copy, path) : fetch(request).catch(function () { return keepPosted(copy, path); }));
    }
    return;
  }
  if (path === TOKEN && request.method === "GET") {
    var none = function () { return new Response(null, { status: 204, headers: { "Cache-Control": "no-store" } }); };
    event.respondWith(self.navigator.onLine === false ? none() : fetch(request).catch(none));
    return;
  }
  if (request.method === "GET" && isKept(path)) {
    var kept = function () {
      return caches.match(request.url, { cacheName: CACHE }).then(function (hit) { return hit || Response.error(); });
    };
    if (self.navigator.onLine === false) { event.respondWith(kept()); return; }
    event.respondWith(fetch(request).then(function (response) {
      event.waitUntil(caches.open(CACHE).then(function (cache) { return store(cache, request.url, response); }));
      return response;
    }, kept));
  }
});

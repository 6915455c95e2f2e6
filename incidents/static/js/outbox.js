// The outbox: reports made without a network, kept on this device until they can be sent.
// Shared by the pages (static/js/offline.js) and the service worker (static/js/sw.js, which
// loads it with importScripts), so both keep a report the same way.
//
// One IndexedDB database, "incidents-offline":
// - "outbox": one record per submission token: {token, user, url, created, rejected, iv, data}.
//   `data` is the form's fields (no CSRF token) as JSON, encrypted with AES-GCM; the token, the
//   user id and the address are bound to it as additional data, so a record cannot be moved to
//   another user or form without failing to decrypt. `rejected`: the server answered with the
//   form and its errors; the record waits until the user opens it.
// - "device": "key", a non-extractable AES-GCM CryptoKey made in this browser (scripts can use
//   it but never read it), and "user", the id of the user last signed in here.
// Logging out deletes the whole database (offline.js, and the logout's Clear-Site-Data header).
(function (scope) {
  "use strict";
  var DB_NAME = "incidents-offline";
  var DB_VERSION = 1;
  var OUTBOX = "outbox";
  var DEVICE = "device";
  var TOKEN_MIN = 16;
  var TOKEN_MAX = 64;

  function open() {
    return new Promise(function (resolve, reject) {
      var request = scope.indexedDB.open(DB_NAME, DB_VERSION);
      request.onupgradeneeded = function () {
        var db = request.result;
        if (!db.objectStoreNames.contains(OUTBOX)) { db.createObjectStore(OUTBOX, { keyPath: "token" }); }
        if (!db.objectStoreNames.contains(DEVICE)) { db.createObjectStore(DEVICE); }
      };
      request.onsuccess = function () {
        var db = request.result;
        // Someone deletes the database (a logout in another tab): let go of it at once.
        db.onversionchange = function () { db.close(); };
        resolve(db);
      };
      request.onerror = function () { reject(request.error); };
      request.onblocked = function () { reject(new Error("outbox blocked")); };
    });
  }

  // One transaction on one store; `work(store)` makes its requests synchronously (nothing
  // asynchronous may run inside an IndexedDB transaction, so no crypto in here).
  function withStore(name, mode, work) {
    return open().then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction(name, mode);
        var result = work(tx.objectStore(name));
        var value;
        if (result && typeof result.onsuccess !== "undefined") {
          result.onsuccess = function () { value = result.result; };
        }
        tx.oncomplete = function () { db.close(); resolve(value); };
        tx.onabort = tx.onerror = function () { db.close(); reject(tx.error); };
      });
    });
  }

  function get(name, key) { return withStore(name, "readonly", function (s) { return s.get(key); }); }
  function put(name, value, key) {
    return withStore(name, "readwrite", function (s) { return key === undefined ? s.put(value) : s.put(value, key); });
  }
  function remove(name, key) { return withStore(name, "readwrite", function (s) { return s.delete(key); }); }
  function all(name) { return withStore(name, "readonly", function (s) { return s.getAll(); }); }

  // The device's key, made the first time a report is kept. `add` fails when another tab
  // made one in the meantime: then that one is used, never overwritten.
  function deviceKey() {
    return get(DEVICE, "key").then(function (key) {
      if (key) { return key; }
      return scope.crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, false, ["encrypt", "decrypt"])
        .then(function (made) {
          return withStore(DEVICE, "readwrite", function (s) { return s.add(made, "key"); })
            .then(function () { return made; }, function () { return get(DEVICE, "key"); });
        });
    });
  }

  function bound(record) {
    return new TextEncoder().encode([record.token, record.user, record.url].join("\n"));
  }

  function validToken(token) {
    return typeof token === "string" && token.length >= TOKEN_MIN && token.length <= TOKEN_MAX;
  }

  // Keep a report: `fields` is a list of [name, value] pairs as the form would post them.
  // Keeping a token again replaces the record (the same report, changed and submitted again).
  function keep(user, url, fields) {
    var clean = fields.filter(function (pair) { return pair[0] !== "csrf_token"; });
    var token = "";
    clean.forEach(function (pair) { if (pair[0] === "submission_token") { token = pair[1]; } });
    if (!user || !validToken(token)) { return Promise.reject(new Error("not a report of a signed-in user")); }
    var record = { token: token, user: String(user), url: url, created: Date.now(), rejected: false };
    var iv = scope.crypto.getRandomValues(new Uint8Array(12));
    var plain = new TextEncoder().encode(JSON.stringify({ fields: clean }));
    return deviceKey().then(function (key) {
      return scope.crypto.subtle.encrypt({ name: "AES-GCM", iv: iv, additionalData: bound(record) }, key, plain);
    }).then(function (data) {
      record.iv = iv;
      record.data = data;
      return put(OUTBOX, record);
    }).then(function () { return record; });
  }

  // The fields of a record, decrypted; fails when the key is gone or the record was changed.
  function fields(record) {
    return get(DEVICE, "key").then(function (key) {
      if (!key) { throw new Error("no key on this device"); }
      return scope.crypto.subtle.decrypt({ name: "AES-GCM", iv: record.iv, additionalData: bound(record) }, key, record.data);
    }).then(function (plain) {
      return JSON.parse(new TextDecoder().decode(plain)).fields;
    });
  }

  function markRejected(record) {
    record.rejected = true;
    return put(OUTBOX, record);
  }

  // Whether the database exists, without making it (a page of someone signed out).
  function exists() {
    if (!scope.indexedDB.databases) { return Promise.resolve(true); }
    return scope.indexedDB.databases().then(function (list) {
      return list.some(function (db) { return db.name === DB_NAME; });
    });
  }

  // Everything: the key, the records, the user. Resolves when it is gone.
  function forget() {
    return new Promise(function (resolve, reject) {
      var request = scope.indexedDB.deleteDatabase(DB_NAME);
      request.onsuccess = function () { resolve(); };
      request.onerror = function () { reject(request.error); };
    });
  }

  scope.IncidentsOutbox = {
    DB_NAME: DB_NAME,
    validToken: validToken,
    keep: keep,
    fields: fields,
    list: function () { return all(OUTBOX); },
    remove: function (token) { return remove(OUTBOX, token); },
    markRejected: markRejected,
    user: function () { return get(DEVICE, "user"); },
    setUser: function (user) {
      return get(DEVICE, "user").then(function (known) {
        return known === String(user) ? undefined : put(DEVICE, String(user), "user");
      });
    },
    exists: exists,
    forget: forget
  };
}(self));

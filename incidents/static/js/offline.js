// Offline reporting, on every page (see templates/base.html):
// - registers the service worker (static/js/sw.js) for signed-in users and asks it to keep the
//   offline shells of the report form and the quick log;
// - a form marked data-offline submitted without a network (or any submit of an offline shell)
//   is kept in the encrypted outbox (static/js/outbox.js) instead, and the page says it waits;
// - whenever the network is there (each page load, the `online` event, and tries a few
//   seconds apart, then every 30 seconds, while something waits) it sends what waits for the
//   user who is signed in now, each report with its own submission token, so a report is
//   stored once however often it is sent;
// - logging out first tries to send what waits, then deletes the key and the outbox.
// Each report is posted with `kept_at`, the moment it was kept (ISO 8601, UTC): the server
// ignores it for now; it is there for answers relative to the moment of sending, such as the
// quick log's "just now".
// The texts come from the page: data-* attributes of the [data-outbox] element, translated
// by the server. Without this script (or without IndexedDB, WebCrypto or service workers)
// the forms work as they always did, online.
(function () {
  "use strict";
  var outbox = window.IncidentsOutbox;
  var panel = document.querySelector("[data-outbox]");
  if (!outbox || !panel || !window.indexedDB || !window.crypto || !window.crypto.subtle ||
      !window.fetch || !window.Promise || !window.TextEncoder) { return; }

  var RETRY_FIRST_MS = 3 * 1000;
  var RETRY_MAX_MS = 30 * 1000;
  var SENT_KEY = "incidents-offline-sent";
  var DETAIL = /\/incidents\/\d+(\/edit)?$/;
  var signedIn = document.body.getAttribute("data-user") || "";
  var shell = panel.hasAttribute("data-shell");
  var waitingFor = "";   // the token of the report this page shows as waiting
  var flushing = null;
  var retry = null;
  var retryDelay = RETRY_FIRST_MS;

  // Texts and addresses, from the page.
  function text(key) { return panel.getAttribute("data-" + key) || ""; }
  var setting = text;

  // --- What the page says --------------------------------------------------------------

  var said = "";

  function say(kind, parts) {
    var key = kind + ":" + parts.map(function (p) { return typeof p === "string" ? p : p.textContent; }).join("|");
    if (key === said && !panel.hidden) { return; }   // already on screen: no new announcement
    said = key;
    panel.hidden = false;
    panel.setAttribute("role", "status");
    panel.textContent = "";
    // The live region is in place before its content changes, so it is announced.
    window.setTimeout(function () {
      var box = document.createElement("div");
      box.className = "alert alert--" + kind;
      box.tabIndex = -1;
      parts.forEach(function (part) {
        var line = document.createElement("p");
        if (typeof part === "string") { line.textContent = part; } else { line.appendChild(part); }
        box.appendChild(line);
      });
      panel.textContent = "";
      panel.appendChild(box);
      // The form that had the focus is gone: the message takes it.
      if (waitingFor && document.activeElement === document.body) { box.focus(); }
    }, 50);
  }

  function quiet() {
    said = "";
    panel.hidden = true;
    panel.textContent = "";
  }

  function link(label, href) {
    var a = document.createElement("a");
    a.href = href;
    a.textContent = label;
    return a;
  }

  function button(label, action) {
    var b = document.createElement("button");
    b.type = "button";
    b.className = "button";
    b.textContent = label;
    b.addEventListener("click", action);
    return b;
  }

  // The form on this page is replaced by the message that its report waits.
  function showWaiting(token) {
    waitingFor = token;
    var forms = document.querySelectorAll("form[data-offline]");
    for (var i = 0; i < forms.length; i++) {
      forms[i].hidden = true;
      var around = forms[i].parentNode.querySelectorAll(".lead, #error-summary");
      for (var j = 0; j < around.length; j++) { around[j].hidden = true; }
    }
    say("info", [text("waiting")]);
  }

  // --- Keeping a report ----------------------------------------------------------------

  function randomToken() {
    var bytes = window.crypto.getRandomValues(new Uint8Array(24));
    var binary = "";
    for (var i = 0; i < bytes.length; i++) { binary += String.fromCharCode(bytes[i]); }
    return window.btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  // A form's own submit(): a field named "submit" (the report's button) hides form.submit.
  function send(form) { HTMLFormElement.prototype.submit.call(form); }

  function withToken(path, token) { return path + "?t=" + encodeURIComponent(token); }

  function formFields(form, submitter) {
    var data = new FormData(form);
    var pairs = [];
    data.forEach(function (value, name) {
      if (typeof value === "string") { pairs.push([name, value]); }
    });
    if (submitter && submitter.name) { pairs.push([submitter.name, submitter.value || ""]); }
    return pairs;
  }

  // Who the report is for: the user signed in on this page, or on a shell (which names
  // nobody) the user last signed in on this device.
  function owner() {
    return signedIn ? Promise.resolve(signedIn) : outbox.user();
  }

  function keepForm(form, submitter) {
    var token = (form.querySelector("input[name=submission_token]") || {}).value || "";
    var path = new URL(form.getAttribute("action") || window.location.href, window.location.href).pathname;
    var url = withToken(path, token);
    return owner().then(function (user) {
      return outbox.keep(user, url, formFields(form, submitter));
    }).then(function () {
      window.history.replaceState(null, "", url);
      showWaiting(token);
    });
  }

  function localNow() {
    var now = new Date();
    var pad = function (n) { return (n < 10 ? "0" : "") + n; };
    return now.getFullYear() + "-" + pad(now.getMonth() + 1) + "-" + pad(now.getDate()) +
      "T" + pad(now.getHours()) + ":" + pad(now.getMinutes());
  }

  function setUpForm(form) {
    var tokenField = form.querySelector("input[name=submission_token]");
    if (!tokenField) { return; }
    if (shell) {
      // A shell is the same for every report: each gets a token of its own, and the time
      // it was opened (the server fills in "now" when the page comes from the network).
      tokenField.value = randomToken();
      var times = form.querySelectorAll("input[type=datetime-local]");
      for (var i = 0; i < times.length; i++) { if (!times[i].value) { times[i].value = localNow(); } }
    }
    form.addEventListener("submit", function (event) {
      // A shell has no CSRF token: it is always sent through the outbox. Other forms only
      // when the browser knows it is offline; a post that fails anyway is kept by the worker.
      if (!shell && navigator.onLine) { return; }
      var submitter = event.submitter || null;
      if (submitter && submitter.hasAttribute("formnovalidate") && submitter.name === "find") { return; }
      event.preventDefault();
      keepForm(form, submitter).then(function () {
        retryDelay = RETRY_FIRST_MS;
        // Sent at once when the network is there after all (a shell opened while it was gone).
        if (navigator.onLine === false) { schedule(); } else { flush(); }
      }, function () {
        // Nothing could be kept (no user known on this device): post it as usual.
        send(form);
      });
    });
  }

  // --- Sending what waits --------------------------------------------------------------

  // A CSRF token of this session and whose it is; null when nobody is signed in; fails when
  // there is no network (the worker then answers 204: see static/js/sw.js).
  function freshToken() {
    return fetch(setting("token"), { credentials: "same-origin", redirect: "manual", cache: "no-store" })
      .then(function (response) {
        if (response.status === 204) { throw new TypeError("offline"); }
        if (response.type === "opaqueredirect" || !response.ok) { return null; }
        return response.json();
      });
  }

  function post(record, fields, csrf) {
    var body = new URLSearchParams();
    fields.forEach(function (pair) { body.append(pair[0], pair[1]); });
    body.append("csrf_token", csrf);
    // When it was kept, for forms whose times are relative to the moment they are sent.
    body.append("kept_at", new Date(record.created).toISOString());
    return fetch(record.url, { method: "POST", body: body, credentials: "same-origin", redirect: "follow" });
  }

  // A report the server refused (its form came back with errors) waits until the user opens
  // it; it is done once its token made an incident (the form was corrected and sent).
  function stillRefused(record) {
    return fetch(record.url, { credentials: "same-origin", redirect: "manual", cache: "no-store" })
      .then(function (response) { return response.type !== "opaqueredirect"; });
  }

  function sendAll(session, records) {
    var result = { sent: [], refused: [], signIn: false, offline: false, waiting: 0 };
    var mine = records.filter(function (r) { return r.user === String(session.user); });
    var chain = Promise.resolve();
    mine.forEach(function (record) {
      chain = chain.then(function () {
        if (result.signIn || result.offline) { result.waiting += 1; return; }
        if (record.rejected) {
          return stillRefused(record).then(function (refused) {
            if (refused) { result.refused.push(record); } else { return outbox.remove(record.token); }
          }, function () { result.offline = true; result.waiting += 1; });
        }
        return outbox.fields(record).then(function (fields) {
          return post(record, fields, session.csrf_token);
        }, function () {
          // Its key is gone or it was changed: nobody can ever read it, so nothing to send.
          return outbox.remove(record.token).then(function () { return null; });
        }).then(function (response) {
          if (!response) { return; }
          var path = new URL(response.url).pathname;
          if (response.ok && response.redirected && DETAIL.test(path)) {
            result.sent.push({ token: record.token, url: response.url });
            return outbox.remove(record.token);
          }
          if (path === setting("login")) { result.signIn = true; result.waiting += 1; return; }
          if (response.status === 200) {
            result.refused.push(record);
            return outbox.markRejected(record);
          }
          result.waiting += 1;   // refused for now (a server error, a limit): tried again later
        }, function (error) {
          if (error instanceof TypeError) { result.offline = true; }
          result.waiting += 1;
        });
      });
    });
    return chain.then(function () { return result; });
  }

  function report(result) {
    var here = result.sent.filter(function (s) { return s.token === waitingFor; })[0];
    if (here) {
      // This page showed the report as waiting: show the incident it became.
      try { window.sessionStorage.setItem(SENT_KEY, new URL(here.url).pathname); } catch (e) { /* private mode */ }
      window.location.assign(here.url);
      return;
    }
    var refusedHere = result.refused.filter(function (r) { return r.token === waitingFor; })[0];
    if (refusedHere) {
      // This page showed it as waiting: show it with what needs changing, as the server would.
      openRefused(refusedHere);
      return;
    }
    if (result.signIn) { say("info", [text("sign-in")]); return; }
    if (result.waiting) { say("info", [text("waiting")]); return; }
    // The form on this page is the refused report itself (opened to be corrected): no notice.
    var ownForm = document.querySelector("form[data-offline] input[name=submission_token]");
    var refused = result.refused.filter(function (r) { return !ownForm || ownForm.value !== r.token; });
    if (refused.length) {
      say("error", [text("refused"), button(text("open-report"), function () { openRefused(refused[0]); })]);
      return;
    }
    if (result.sent.length) {
      say("success", [text("sent"), link(text("open-incident"), result.sent[result.sent.length - 1].url)]);
      return;
    }
    if (!waitingFor && said.indexOf("success:") !== 0) { quiet(); }
  }

  // Open a refused report filled in: post it as the form would (a navigation), so the server
  // shows it with its errors marked, exactly as without this script.
  function openRefused(record) {
    Promise.all([outbox.fields(record), freshToken()]).then(function (both) {
      var fields = both[0];
      var session = both[1];
      if (!session) { say("info", [text("sign-in")]); return; }
      var form = document.createElement("form");
      form.method = "post";
      form.action = record.url;
      form.hidden = true;
      fields.concat([["csrf_token", session.csrf_token]]).forEach(function (pair) {
        var input = document.createElement("input");
        input.type = "hidden";
        input.name = pair[0];
        input.value = pair[1];
        form.appendChild(input);
      });
      document.body.appendChild(form);
      send(form);
    }).catch(function () { say("info", [text("waiting")]); });
  }

  function flush(options) {
    options = options || {};
    if (flushing) { return flushing; }
    var work = function () { return sendWaiting(options); };
    // One tab at a time sends (two would both post the same report: harmless, but twice).
    var run = navigator.locks ? navigator.locks.request("incidents-outbox", work) : work();
    flushing = run.then(function (r) { flushing = null; return r; }, function () { flushing = null; return null; });
    return flushing;
  }

  function sendWaiting(options) {
    return outbox.exists().then(function (exists) {
      return exists ? outbox.list() : [];
    }).then(function (records) {
      if (!records.length) { return null; }
      if (navigator.onLine === false) {
        return ownRecords(records).then(function (own) {
          if (own.length && !options.silent) { say("info", [text("waiting")]); }
          if (own.length) { schedule(); }
          return null;
        });
      }
      return freshToken().then(function (session) {
        if (!session) {
          return ownRecords(records).then(function (own) {
            if (own.length && !options.silent) { say("info", [text("sign-in")]); }
            return null;
          });
        }
        return sendAll(session, records).then(function (result) {
          if (!options.silent) { report(result); }
          if (result.waiting) { schedule(); } else { retryDelay = RETRY_FIRST_MS; }
          return result;
        });
      }, function () {
        // No network after all: try again later.
        return ownRecords(records).then(function (own) {
          if (own.length) { schedule(); }
          if (own.length && !options.silent) { say("info", [text("waiting")]); }
          return null;
        });
      });
    });
  }

  // The records of whoever uses this page: the user signed in on it; on a shell the user
  // last signed in on this device; signed out (the login page): all of them.
  function ownRecords(records) {
    if (!signedIn && !shell) { return Promise.resolve(records); }
    return owner().then(function (user) {
      return records.filter(function (r) { return r.user === String(user); });
    });
  }

  // Try again later: soon at first, then every RETRY_MAX_MS. Browsers do not always say when
  // the network is back (no `online` event on a page that opened without one).
  function schedule() {
    if (retry) { return; }
    var delay = retryDelay;
    retryDelay = Math.min(retryDelay * 2, RETRY_MAX_MS);
    retry = window.setTimeout(function () {
      retry = null;
      if (navigator.onLine !== false && document.visibilityState !== "hidden") { flush(); } else { schedule(); }
    }, delay);
  }

  // --- Logging out ---------------------------------------------------------------------

  function setUpLogout(form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var submitter = event.submitter;
      if (submitter) { submitter.disabled = true; }
      var tried = navigator.onLine !== false ? flush({ silent: true }) : Promise.resolve(null);
      var patience = new Promise(function (resolve) { window.setTimeout(resolve, 8000); });
      Promise.race([tried, patience]).then(function () {
        return outbox.exists().then(function (exists) { return exists ? outbox.list() : []; });
      }).then(function (records) {
        var left = records.filter(function (r) { return r.user === signedIn; });
        if (left.length && !window.confirm(text("logout-unsent"))) {
          if (submitter) { submitter.disabled = false; }
          return;
        }
        return forgetAll().then(function () { send(form); });
      }).catch(function () { send(form); });
    });
  }

  // The key, the outbox and the worker with its shells: nothing of this user stays here.
  function forgetAll() {
    var steps = [outbox.forget()];
    if (window.caches) {
      steps.push(window.caches.keys().then(function (names) {
        return Promise.all(names.map(function (name) { return window.caches.delete(name); }));
      }));
    }
    if (navigator.serviceWorker) {
      steps.push(navigator.serviceWorker.getRegistrations().then(function (registrations) {
        return Promise.all(registrations.map(function (r) { return r.unregister(); }));
      }));
    }
    // The logout's Clear-Site-Data header deletes all of it too: never wait long here.
    var patience = new Promise(function (resolve) { window.setTimeout(resolve, 3000); });
    return Promise.race([Promise.all(steps), patience]).catch(function () { return null; });
  }

  // --- The worker ----------------------------------------------------------------------

  function askForShells(registration) {
    var worker = registration.active;
    if (!worker || !window.MessageChannel) { return; }
    var channel = new MessageChannel();
    channel.port1.onmessage = function (event) {
      if (event.data && event.data.ready) {
        // For tests and for whoever wants to know: the forms now open without a network.
        document.documentElement.setAttribute("data-offline-ready", "");
      }
    };
    worker.postMessage({ type: "shells", lang: document.documentElement.lang }, [channel.port2]);
  }

  function register() {
    if (!navigator.serviceWorker || !window.isSecureContext || !navigator.onLine) { return; }
    navigator.serviceWorker.register(setting("worker"), { scope: setting("scope") })
      .then(function () { return navigator.serviceWorker.ready; })
      .then(askForShells)
      .catch(function () { /* no worker: the forms work online as always */ });
  }

  // --- Start ---------------------------------------------------------------------------

  function start() {
    var forms = document.querySelectorAll("form[data-offline]");
    for (var i = 0; i < forms.length; i++) { setUpForm(forms[i]); }
    var logout = setting("logout");
    if (signedIn && logout) {
      var logouts = document.querySelectorAll("form[action='" + logout + "']");
      for (var j = 0; j < logouts.length; j++) { setUpLogout(logouts[j]); }
    }
    var sent = null;
    try { sent = window.sessionStorage.getItem(SENT_KEY); window.sessionStorage.removeItem(SENT_KEY); } catch (e) { sent = null; }
    if (sent && sent === window.location.pathname) { say("success", [text("sent")]); }

    var shown = new URLSearchParams(window.location.search).get("t") || "";
    var known = signedIn ? outbox.setUser(signedIn) : Promise.resolve();
    known.then(function () {
      return outbox.exists().then(function (exists) { return exists ? outbox.list() : []; });
    }).then(function (records) {
      var waiting = records.filter(function (r) { return r.token === shown && !r.rejected; })[0];
      if (waiting) { showWaiting(waiting.token); }
      // A shell is shown because the network just failed: wait for it to come back (the
      // `online` event, or the next try) rather than fail again at once.
      if (records.length && shell) { schedule(); } else if (records.length) { flush(); }
    }).catch(function () { /* no IndexedDB here (private mode): nothing waits */ });
    window.addEventListener("online", function () { flush(); });
    if (signedIn) { register(); }
  }

  start();
}());

// Chopsticks dashboard: the little JavaScript it needs. Forms and buttons
// marked with data-api send JSON to the API with the session's CSRF token.
(function () {
  "use strict";

  function csrfToken() {
    var m = document.querySelector('meta[name="csrf-token"]');
    return m ? m.getAttribute("content") : "";
  }

  function newOp() {
    if (window.crypto && crypto.randomUUID) {
      return crypto.randomUUID();
    }
    var a = new Uint8Array(16);
    crypto.getRandomValues(a);
    return Array.prototype.map.call(a, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  function call(method, url, body) {
    var opts = { method: method, credentials: "same-origin", headers: { "X-CSRF-Token": csrfToken(), "Accept": "application/json" } };
    if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    return fetch(url, opts).then(function (resp) {
      return resp.json().catch(function () { return {}; }).then(function (data) {
        if (!resp.ok) {
          var msg = data && data.error && data.error.message ? data.error.message : "Request failed (" + resp.status + ").";
          var err = new Error(msg);
          err.status = resp.status;
          err.code = data && data.error ? data.error.code : "";
          throw err;
        }
        return data;
      });
    });
  }

  function show(out, text, ok) {
    if (!out) { return; }
    out.textContent = text;
    out.classList.toggle("ok", ok);
    out.classList.toggle("err", !ok);
  }

  function describe(data) {
    if (data && typeof data.wallet === "number") {
      return "Done. Wallet of " + data.user_id + " is now " + data.wallet.toLocaleString("en-US") + " credits.";
    }
    if (data && data.item) {
      return "Done. " + data.quantity + " × " + data.item + " for " + data.user_id + ".";
    }
    return "Done.";
  }

  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    if (!form.classList || !form.classList.contains("api-form")) { return; }
    ev.preventDefault();
    var body = {};
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name) { return; }
      if (el.dataset.type === "int") {
        body[el.name] = el.value === "" ? 0 : Number(el.value);
      } else {
        body[el.name] = el.value;
      }
    });
    var needsOp = form.dataset.api.indexOf("/economy/") >= 0;
    if (needsOp) {
      if (!form.dataset.op) { form.dataset.op = newOp(); }
      body.op = form.dataset.op;
    }
    var out = form.querySelector("output");
    var button = form.querySelector("button[type=submit]");
    if (button) { button.disabled = true; }
    show(out, "Working…", true);
    call(form.dataset.method || "POST", form.dataset.api, body).then(function (data) {
      delete form.dataset.op;
      show(out, describe(data), true);
      form.reset();
      if (form.dataset.api === "/api/admin/agents") {
        window.location.reload();
      }
    }).catch(function (err) {
      // A refusal changed nothing and is not kept: the next submission,
      // corrected or not, gets a fresh op. Without an answer (network, 5xx)
      // or while the op runs, the op stays, so a retry cannot apply twice.
      if (err.status >= 400 && err.status < 500 && err.code !== "op_in_progress") {
        delete form.dataset.op;
      }
      show(out, err.message, false);
    }).finally(function () {
      if (button) { button.disabled = false; }
    });
  });

  document.addEventListener("click", function (ev) {
    var el = ev.target.closest ? ev.target.closest("button[data-api]") : null;
    if (!el) { return; }
    if (el.dataset.confirm && !window.confirm(el.dataset.confirm)) { return; }
    el.disabled = true;
    call(el.dataset.method || "POST", el.dataset.api).then(function () {
      window.location.reload();
    }).catch(function (err) {
      el.disabled = false;
      window.alert(err.message);
    });
  });

  document.addEventListener("DOMContentLoaded", function () {
    var toggle = document.getElementById("menu-toggle");
    var nav = document.getElementById("nav");
    if (toggle && nav) {
      toggle.addEventListener("click", function () {
        var open = nav.classList.toggle("open");
        toggle.setAttribute("aria-expanded", open ? "true" : "false");
      });
    }
    document.documentElement.classList.add("js");
  });
})();

// The embedded admin's only script: JSON calls with the session token, forms that post through
// /admin/api, and plain HTML fields when Shopify's CDN (Polaris) is out of reach.
(function () {
  "use strict";
  var body = document.body;

  // App Bridge gives a fresh session token; without it (no CDN, as in tests) the page's own verified one.
  function idToken() {
    if (window.shopify && typeof window.shopify.idToken === "function") return window.shopify.idToken();
    var meta = document.querySelector('meta[name="loyalty-id-token"]');
    return Promise.resolve(meta ? meta.content : "");
  }

  function api(method, path, payload, contentType) {
    return idToken().then(function (token) {
      var headers = { Authorization: "Bearer " + token, Accept: "application/json" };
      var init = { method: method, headers: headers };
      if (payload !== undefined) {
        headers["Content-Type"] = contentType || "application/json";
        init.body = contentType && contentType !== "application/json" ? payload : JSON.stringify(payload);
      }
      return fetch(path, init).then(function (response) {
        var type = response.headers.get("Content-Type") || "";
        var read = type.indexOf("json") >= 0 ? response.json() : response.text();
        return read.then(function (data) { return { ok: response.ok, status: response.status, data: data }; });
      });
    });
  }

  function notify(message, isError) {
    if (!isError && window.shopify && window.shopify.toast) window.shopify.toast.show(message);
    var notice = document.querySelector(".notice");
    if (!notice) return;
    notice.textContent = message;
    notice.classList.toggle("notice-error", !!isError);
    notice.hidden = false;
  }

  // Polaris fields become native ones when Polaris did not load: same names, same values, same forms.
  var FIELD_TAGS = { "S-TEXT-FIELD": "text", "S-NUMBER-FIELD": "number", "S-EMAIL-FIELD": "email",
                     "S-DATE-FIELD": "date", "S-MONEY-FIELD": "number", "S-PASSWORD-FIELD": "password",
                     "S-URL-FIELD": "url", "S-TEXT-AREA": "textarea" };

  function copyAttributes(from, to, names) {
    names.forEach(function (name) { if (from.hasAttribute(name)) to.setAttribute(name, from.getAttribute(name)); });
  }

  function degrade() {
    document.documentElement.classList.add("no-polaris");
    document.querySelectorAll(Object.keys(FIELD_TAGS).join(",").toLowerCase()).forEach(function (el) {
      var kind = FIELD_TAGS[el.tagName];
      var control = document.createElement(kind === "textarea" ? "textarea" : "input");
      if (kind !== "textarea") control.type = kind;
      copyAttributes(el, control, ["name", "value", "min", "max", "step", "required", "placeholder", "data-type",
                                   "data-nullable", "id", "disabled", "accept"]);
      if (kind === "textarea") control.value = el.getAttribute("value") || "";
      wrap(el, control);
    });
    document.querySelectorAll("s-select").forEach(function (el) {
      var select = document.createElement("select");
      copyAttributes(el, select, ["name", "data-type", "id", "disabled"]);
      el.querySelectorAll("s-option").forEach(function (opt) {
        var option = document.createElement("option");
        option.value = opt.getAttribute("value");
        option.textContent = opt.textContent;
        option.selected = opt.hasAttribute("selected") || el.getAttribute("value") === option.value;
        select.appendChild(option);
      });
      wrap(el, select);
    });
    document.querySelectorAll("s-checkbox, s-switch").forEach(function (el) {
      var box = document.createElement("input");
      box.type = "checkbox";
      copyAttributes(el, box, ["name", "value", "id", "disabled"]);
      box.setAttribute("data-type", "boolean");
      box.checked = el.hasAttribute("checked");
      wrap(el, box, true);
    });
    document.querySelectorAll("s-button").forEach(function (el) {
      var button = document.createElement("button");
      copyAttributes(el, button, ["type", "disabled", "id", "data-api", "data-confirm", "data-then", "data-body",
                                 "data-field", "data-value", "class"]);
      if (!el.hasAttribute("type")) button.type = "button";
      if (el.getAttribute("variant") === "primary") button.classList.add("primary");
      if (el.getAttribute("tone") === "critical") button.classList.add("critical");
      button.innerHTML = el.innerHTML;
      if (el.hasAttribute("href")) {
        var link = document.createElement("a");
        link.href = el.getAttribute("href");
        link.className = "button";
        link.innerHTML = el.innerHTML;
        el.replaceWith(link);
      } else {
        el.replaceWith(button);
      }
    });
  }

  function wrap(el, control, inline) {
    var label = document.createElement("label");
    label.className = inline ? "field field-inline" : "field";
    var text = document.createElement("span");
    text.textContent = el.getAttribute("label") || "";
    if (inline) { label.appendChild(control); label.appendChild(text); }
    else { label.appendChild(text); label.appendChild(control); }
    var details = el.getAttribute("details");
    if (details) {
      var hint = document.createElement("small");
      hint.textContent = details;
      label.appendChild(hint);
    }
    el.replaceWith(label);
  }

  // A field's value as the API wants it: data-type says number, integer, boolean or list; empty may be null.
  function fieldValue(field) {
    var type = field.getAttribute("data-type");
    if (type === "boolean") return field.checked !== undefined ? field.checked : field.value === "true";
    var value = field.value;
    if (value === "" && field.hasAttribute("data-nullable")) return null;
    if (type === "integer") return value === "" ? null : parseInt(value, 10);
    if (type === "number") return value === "" ? null : Number(value);
    if (type === "list") return value.split(",").map(function (s) { return s.trim(); }).filter(Boolean);
    return value;
  }

  function formPayload(form) {
    var payload = {};
    form.querySelectorAll("[name]").forEach(function (field) {
      if (field.closest("form") !== form || field.tagName === "S-OPTION" || field.tagName === "OPTION") return;
      if (field.type === "checkbox" && field.getAttribute("data-type") !== "boolean" && !field.checked) return;
      var name = field.name || field.getAttribute("name"), dot = name.indexOf(".");
      if (dot < 0) { payload[name] = fieldValue(field); return; }
      // "settings.photo_bonus" is {"settings": {"photo_bonus": …}}; "translations.nb" fills translations.nb, and an
      // empty translation is left out (no name in that language).
      var group = payload[name.slice(0, dot)] = payload[name.slice(0, dot)] || {};
      if (field.value === "" && name.slice(0, dot) === "translations") return;
      group[name.slice(dot + 1)] = fieldValue(field);
    });
    return payload;
  }

  function showErrors(form, errors) {
    (form || document).querySelectorAll("[data-error-for]").forEach(function (el) { el.textContent = ""; });
    if (!errors || typeof errors !== "object") return;
    Object.keys(errors).forEach(function (name) {
      var text = [].concat(errors[name]).map(function (m) { return typeof m === "string" ? m : JSON.stringify(m); });
      var slot = (form || document).querySelector('[data-error-for="' + name + '"]');
      if (slot) slot.textContent = text.join(" ");
    });
  }

  // A second answer (a double click posts twice; the idempotency key makes that one change) must not reload
  // again: the second reload aborts the first and the page is left half-loaded.
  var reloading = false;

  function finish(result, source) {
    if (result.ok) {
      notify(body.getAttribute("data-saved"));
      var then = source.getAttribute("data-then") || "reload";
      var handler = window.LoyaltyAdmin.handlers[then];
      if (handler) handler(result.data, source);
      else if (then === "reload" && !reloading) { reloading = true; window.location.reload(); }
      return;
    }
    var invalid = result.status === 422;
    notify(invalid ? body.getAttribute("data-error-invalid") : (result.data && result.data.message) ||
           body.getAttribute("data-error-generic"), true);
    showErrors(source.tagName === "FORM" ? source : null, result.data && result.data.errors);
  }

  function split(spec) {
    var space = spec.indexOf(" ");
    return [spec.slice(0, space), spec.slice(space + 1)];
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.hasAttribute("data-api")) return;
    event.preventDefault();
    var target = split(form.getAttribute("data-api"));
    var build = window.LoyaltyAdmin.builders[form.getAttribute("data-build")];
    var payload = build ? build(form) : formPayload(form);
    var send = form.getAttribute("data-content-type")
      ? api(target[0], target[1], payload, form.getAttribute("data-content-type"))
      : api(target[0], target[1], payload);
    send.then(function (result) { finish(result, form); });
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-api], s-button[data-api], a[data-api]");
    if (!button) return;
    event.preventDefault();
    if (button.hasAttribute("data-confirm") && !window.confirm(button.getAttribute("data-confirm"))) return;
    var target = split(button.getAttribute("data-api"));
    var payload = button.hasAttribute("data-body") ? JSON.parse(button.getAttribute("data-body")) : undefined;
    api(target[0], target[1], payload).then(function (result) { finish(result, button); });
  });

  // Web Vitals for this page. App Bridge calls back with a report {appId, shopId, userId, appLoadId,
  // metrics: [{id, name, value}]} (shopify.dev, App Home: Web Vitals API); older App Bridge passed one metric.
  // Only the metrics /admin/api/vitals keeps are sent: another name (FID, ...) would get the whole report refused.
  var VITALS = ["LCP", "CLS", "INP", "FCP", "TTFB"];

  function reportVitals() {
    var vitals = window.shopify && window.shopify.webVitals;
    if (!vitals || typeof vitals.onReport !== "function") return;
    vitals.onReport(function (report) {
      var metrics = report && Array.isArray(report.metrics) ? report.metrics : [report];
      var values = metrics.filter(function (m) {
        return m && VITALS.indexOf(m.name) >= 0 && typeof m.value === "number" && isFinite(m.value);
      }).map(function (m) { return { name: m.name, value: m.value }; });
      if (!values.length) return;
      return api("POST", "/admin/api/vitals", { page: body.getAttribute("data-page"), metrics: values })
        .catch(function () { /* best effort: a lost measurement is not worth an error */ });
    });
  }

  window.LoyaltyAdmin = { api: api, notify: notify, formPayload: formPayload, showErrors: showErrors,
                          handlers: {}, builders: {} };
  if (!window.customElements || !window.customElements.get("s-page")) degrade();
  else document.documentElement.classList.add("polaris");
  reportVitals();
  document.documentElement.setAttribute("data-ready", "true");
})();

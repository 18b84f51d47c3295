// The Program page's tier forms: a change is previewed first (who moves up, down or stays), then applied.
(function () {
  "use strict";
  var section = document.getElementById("tiers");
  if (!section || !window.LoyaltyAdmin) return;
  var admin = window.LoyaltyAdmin;
  var lang = document.body.getAttribute("data-lang") || "en";
  var current = JSON.parse(section.getAttribute("data-tiers"));
  var text = function (name) { return section.getAttribute("data-" + name); };
  var count = function (n) { return Number(n).toLocaleString(lang); };

  // The whole tier list as it would be: the form's tier added, or put in place of the one it edits.
  function proposal(form, tier) {
    var editing = form.getAttribute("data-tier-id");
    var tiers = current.map(function (t) {
      var kept = { id: t.id, name: t.name, threshold: t.threshold, multiplier: t.multiplier, entry_bonus: t.entry_bonus };
      return String(t.id) === editing ? Object.assign(kept, tier) : kept;
    });
    if (!editing) tiers.push(tier);
    return { tiers: tiers, index: editing ? tiers.findIndex(function (t) { return String(t.id) === editing; })
                                          : tiers.length - 1 };
  }

  function cell(row, tag, value, className) {
    var el = document.createElement(tag);
    el.textContent = value;
    if (className) el.className = className;
    row.appendChild(el);
  }

  function render(box, preview) {
    box.innerHTML = "";
    var heading = document.createElement("s-heading");
    heading.textContent = text("preview-heading");
    box.appendChild(heading);
    var summary = document.createElement("p");
    summary.className = "preview-summary";
    summary.textContent = preview.up + preview.down === 0 ? text("preview-none") :
      text("preview-summary").replace("{up}", count(preview.up)).replace("{down}", count(preview.down))
                             .replace("{same}", count(preview.same));
    box.appendChild(summary);
    var table = document.createElement("table");
    table.className = "data preview-tiers";
    var head = document.createElement("tr");
    [text("tier-label"), text("now"), text("after")].forEach(function (label, i) { cell(head, "th", label, i ? "num" : ""); });
    table.appendChild(head);
    preview.tiers.forEach(function (tier) {
      if (tier.name === null && tier.before === 0 && tier.after === 0) return;
      var row = document.createElement("tr");
      cell(row, "td", tier.name === null ? text("no-tier") : tier.name);
      cell(row, "td", count(tier.before), "num");
      cell(row, "td", count(tier.after), "num");
      table.appendChild(row);
    });
    box.appendChild(table);
    if (preview.moves.length) {
      var moves = document.createElement("ul");
      moves.className = "preview-moves";
      preview.moves.forEach(function (move) {
        var item = document.createElement("li");
        item.textContent = (move.from === null ? text("no-tier") : move.from) + " → " +
          (move.to === null ? text("no-tier") : move.to) + ": " + count(move.members) + " (" + text(move.direction) + ")";
        moves.appendChild(item);
      });
      box.appendChild(moves);
    }
  }

  function applyButton(form, tier) {
    var polaris = document.documentElement.classList.contains("polaris");
    var button = document.createElement(polaris ? "s-button" : "button");
    if (polaris) button.setAttribute("variant", "primary"); else button.className = "primary";
    button.setAttribute("type", "button");
    button.setAttribute("data-apply", "");
    button.textContent = text("apply");
    button.addEventListener("click", function () {
      var target = form.getAttribute("data-preview").split(" ");
      admin.api(target[0], target[1], tier).then(function (result) {
        if (result.ok) { window.location.reload(); return; }
        admin.notify(document.body.getAttribute(result.status === 422 ? "data-error-invalid" : "data-error-generic"), true);
        admin.showErrors(form, result.data && result.data.errors);
      });
    });
    return button;
  }

  document.querySelectorAll("form[data-preview]").forEach(function (form) {
    var box = form.querySelector(".preview");
    form.addEventListener("input", function () { box.hidden = true; });
    form.addEventListener("change", function () { box.hidden = true; });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var tier = admin.formPayload(form);
      var proposed = proposal(form, tier);
      admin.api("POST", "/admin/api/tiers/preview", { tiers: proposed.tiers }).then(function (result) {
        if (!result.ok) {
          var errors = (result.data && result.data.errors && result.data.errors.tiers) || {};
          var own = Array.isArray(errors) ? { tiers: errors } : errors[proposed.index] || errors[String(proposed.index)] ||
            { tiers: Object.keys(errors).map(function (k) { return JSON.stringify(errors[k]); }) };
          admin.notify(document.body.getAttribute(result.status === 422 ? "data-error-invalid" : "data-error-generic"), true);
          admin.showErrors(form, own);
          return;
        }
        admin.showErrors(form, {});
        render(box, result.data);
        box.appendChild(applyButton(form, tier));
        box.hidden = false;
      });
    });
  });
})();

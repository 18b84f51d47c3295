// Import & export: downloads that carry the session token, and the import form's Check / Import.
(function () {
  "use strict";
  var admin = window.LoyaltyAdmin;
  var lang = document.body.getAttribute("data-lang") || "en";
  var numbers = new Intl.NumberFormat(lang === "nb" ? "nb-NO" : lang);
  var EXPORTS = { "export-members": ["/admin/api/exports/members.csv", "members.csv"],
                  "export-ledger": ["/admin/api/exports/ledger.csv", "ledger.csv"] };

  // A plain link carries no token: fetch with it, then hand the browser the file as a Blob.
  function download(path, name) {
    admin.api("GET", path).then(function (result) {
      if (!result.ok) { admin.notify((result.data && result.data.message) || document.body.getAttribute("data-error-generic"), true); return; }
      var url = URL.createObjectURL(new Blob([result.data], { type: "text/csv" }));
      var link = document.createElement("a");
      link.href = url;
      link.download = name;
      document.body.appendChild(link);
      link.click();
      link.remove();
      setTimeout(function () { URL.revokeObjectURL(url); }, 1000);
    });
  }

  function fill(text, values) {
    return text.replace(/\{(\w+)\}/g, function (_, key) { return values[key]; });
  }

  function cell(row, text, className) {
    var td = document.createElement("td");
    td.textContent = text === null || text === undefined ? "" : text;
    if (className) td.className = className;
    row.appendChild(td);
  }

  function show(result, data) {
    var box = document.getElementById("import-result");
    var body = box.querySelector("tbody");
    body.innerHTML = "";
    (data.rows || []).forEach(function (r) {
      var tr = document.createElement("tr");
      if (r.errors.length) tr.className = "row-error";
      cell(tr, r.line, "num");
      cell(tr, (r.customer_id || "") + (r.new_member ? " (" + box.getAttribute("data-new-member") + ")" : ""));
      cell(tr, r.email);
      cell(tr, r.balance === null ? "" : numbers.format(r.balance), "num");
      cell(tr, r.change === null ? "" : (r.change > 0 ? "+" : "") + numbers.format(r.change), "num");
      cell(tr, r.new_balance === null ? "" : numbers.format(r.new_balance), "num");
      cell(tr, r.errors.join("; "));
      body.appendChild(tr);
    });
    var template = data.error_count ? box.getAttribute("data-summary-errors") : box.getAttribute("data-summary");
    document.getElementById("import-summary").textContent = fill(template, {
      rows: numbers.format(data.row_count), points: numbers.format(data.points), errors: numbers.format(data.error_count) });
    box.hidden = false;
  }

  function send(dryRun) {
    var input = document.getElementById("import-file");
    var form = document.getElementById("import-form");
    var box = document.getElementById("import-result");
    admin.showErrors(form, null);
    var file = input.files && input.files[0];
    if (!file) { admin.showErrors(form, { file: [box.getAttribute("data-choose-file")] }); return; }
    var mode = form.querySelector("[name=mode]").value || "set";
    var query = "?dry_run=" + dryRun + "&mode=" + encodeURIComponent(mode) + "&filename=" + encodeURIComponent(file.name);
    file.text().then(function (text) {
      return admin.api("POST", "/admin/api/imports" + query, text, "text/csv");
    }).then(function (result) {
      if (result.ok && !dryRun) {
        var params = new URLSearchParams(window.location.search);
        params.set("imported", result.data["import"].id);
        window.location.search = params.toString();
      } else if (result.ok) {
        show(result, result.data);
      } else if (result.status === 422 && result.data.errors && result.data.errors.file) {
        admin.showErrors(form, result.data.errors);
        admin.notify(document.body.getAttribute("data-error-invalid"), true);
      } else if (result.status === 422) {
        // Rows have errors: nothing was imported; the dry run shows which and why.
        admin.notify(box.getAttribute("data-rejected"), true);
        send(true);
      } else {
        admin.notify((result.data && result.data.message) || document.body.getAttribute("data-error-generic"), true);
      }
    });
  }

  document.addEventListener("click", function (event) {
    var target = event.target.closest("#export-members, #export-ledger, #import-check, #import-apply");
    if (!target) return;
    event.preventDefault();
    if (EXPORTS[target.id]) download(EXPORTS[target.id][0], EXPORTS[target.id][1]);
    else send(target.id === "import-check");
  });

  admin.handlers.undone = function () {
    var params = new URLSearchParams(window.location.search);
    params.delete("imported");
    window.location.search = params.toString();
  };
})();

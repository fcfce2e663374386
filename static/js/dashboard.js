/* Dashboard: rows of archives still building poll the API and show live progress; the
   badge and size change when the build ends. */
(function () {
  "use strict";
  var AD = window.AD;
  var _ = AD._;
  var LABELS = {
    pending: [_("waiting"), "text-bg-info"],
    building: [_("building"), "text-bg-info"],
    ready: [_("ready"), "text-bg-success"],
    failed: [_("failed"), "text-bg-danger"],
    expired: [_("expired"), "text-bg-secondary"],
  };

  function update(row, archive) {
    var badge = row.querySelector("[data-status-badge]");
    var label = LABELS[archive.status] || [archive.status, "text-bg-secondary"];
    badge.textContent = label[0];
    badge.className = "badge " + label[1];
    var bar = row.querySelector("[data-row-progress]");
    if (archive.status === "pending" || archive.status === "building") {
      if (bar) {
        AD.setProgress(bar, archive.progress);
      }
      return true;
    }
    if (bar) {
      bar.remove();
    }
    if (archive.size !== null) {
      row.querySelector("[data-size]").textContent = AD.formatBytes(archive.size);
    }
    AD.announce(AD.interpolate(_("%s is %s."), [archive.name, label[0]]));
    return false;
  }

  function poll(row) {
    AD.getJSON(row.getAttribute("data-poll")).then(
      function (archive) {
        if (update(row, archive)) {
          window.setTimeout(function () { poll(row); }, 1000);
        }
      },
      function (error) {
        if (error.status !== 404) {
          window.setTimeout(function () { poll(row); }, 3000);
        }
      }
    );
  }

  document.querySelectorAll("tr[data-poll]").forEach(poll);
})();

/* Share page while the archive is being built: poll the public share API, move the
   progress bar, estimate the time left, and turn into the download when ready, in
   place: the Download button is built from the box's data-download-url and
   data-download-label. A password-protected archive reloads instead, since its form
   comes from the server, and so does one that expired meanwhile. */
(function () {
  "use strict";
  var AD = window.AD;
  var _ = AD._;
  var box = document.querySelector("[data-share-poll]");
  if (!box) {
    return;
  }
  var url = box.getAttribute("data-share-poll");
  var page = box.getAttribute("data-share-page");
  var bar = box.querySelector("[data-build-progress]");
  var eta = box.querySelector("[data-build-eta]");
  var state = box.querySelector("[data-build-state]");
  var first = null;

  function estimate(progress) {
    var now = Date.now();
    if (first === null || progress < first.progress) {
      first = { time: now, progress: progress };
      return "";
    }
    var done = progress - first.progress;
    if (done <= 0) {
      return "";
    }
    var seconds = Math.ceil(((now - first.time) / 1000 / done) * (100 - progress));
    if (seconds < 60) {
      return AD.interpolate(_("About %s s left."), [seconds]);
    }
    return AD.interpolate(_("About %s min left."), [Math.ceil(seconds / 60)]);
  }

  /* Facts only known once built: the ZIP's size and hashes. */
  function showBuilt(archive) {
    var size = document.querySelector("[data-archive-size]");
    if (size && archive.size !== null) {
      size.textContent = AD.formatBytes(archive.size);
    }
    var hash = document.querySelector("[data-archive-sha256]");
    if (hash && archive.sha256) {
      hash.textContent = archive.sha256;
      document.querySelectorAll("[data-sha256-part]").forEach(function (node) {
        node.classList.remove("d-none");
      });
    }
    var hashes = {};
    (archive.files || []).forEach(function (file) { hashes[file.name] = file.sha256; });
    document.querySelectorAll("[data-file-row]").forEach(function (row) {
      var cell = row.querySelector("[data-file-sha256]");
      var name = row.getAttribute("data-file-row");
      if (cell && hashes[name]) {
        cell.textContent = hashes[name];
      }
    });
  }

  function showDownload(archive) {
    var ready = document.createElement("p");
    ready.textContent = _("The archive is ready.");
    var button = document.createElement("a");
    button.className = "btn btn-primary btn-lg";
    button.href = box.getAttribute("data-download-url");
    button.setAttribute("data-download-button", "");
    var icon = document.createElement("i");
    icon.className = "bi bi-download";
    icon.setAttribute("aria-hidden", "true");
    button.appendChild(icon);
    button.appendChild(document.createTextNode(" " + box.getAttribute("data-download-label")));
    box.textContent = "";
    box.appendChild(ready);
    box.appendChild(button);
    box.removeAttribute("data-share-poll");
    box.setAttribute("data-share-ready", "");
    showBuilt(archive);
    /* Reached through a refused download (409), the address becomes the share page's,
       so a later reload shows this page rather than starting the download. */
    if (window.location.pathname !== page) {
      window.history.replaceState(null, "", page + window.location.search);
    }
    AD.announce(_("The archive is ready."));
  }

  function poll() {
    AD.getJSON(url).then(
      function (archive) {
        if (archive.status === "ready" && !archive.has_password) {
          AD.setProgress(bar, 100);
          showDownload(archive);
          return;
        }
        if (archive.status === "ready" || archive.status === "expired") {
          AD.setProgress(bar, 100);
          window.location.assign(page);
          return;
        }
        if (archive.status === "failed") {
          state.textContent = _("The archive could not be built.") + " " + (archive.error || "");
          bar.classList.add("d-none");
          eta.textContent = "";
          return;
        }
        AD.setProgress(bar, archive.progress);
        eta.textContent = archive.status === "pending"
          ? _("Waiting for the builder to start…")
          : estimate(archive.progress);
        window.setTimeout(poll, 1000);
      },
      function () {
        window.setTimeout(poll, 3000);
      }
    );
  }

  poll();
})();

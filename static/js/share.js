/* Share page while the archive is being built: poll the public share API, move the
   progress bar, estimate the time left, and turn into the download when ready. */
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

  function poll() {
    AD.getJSON(url).then(
      function (archive) {
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

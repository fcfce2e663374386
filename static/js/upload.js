/* The upload page: collect files and folders (chosen or dragged), list them with sizes,
   send each file resumably with tus (POST/PATCH /api/uploads/, tus-js-client) under one
   bar of bytes sent, then create the archive from the finished uploads
   (POST /api/archives/ as JSON). The share link and its QR code show at once; the build
   progress follows under them until the ZIP is ready. Without this script the form
   posts the files itself. */
(function () {
  "use strict";
  var AD = window.AD;
  var _ = AD._;
  var ngettext = AD.ngettext;
  var tus = window.tus;
  var form = document.getElementById("upload-form");
  if (!form || !tus || !tus.isSupported) {
    return;
  }
  var list = form.querySelector("[data-file-list]");
  var summary = form.querySelector("[data-file-summary]");
  var errorBox = form.querySelector("[data-upload-error]");
  var button = form.querySelector("[data-upload-button]");
  var card = document.querySelector("[data-progress-card]");
  var uploadBar = card.querySelector("[data-upload-progress]");
  var uploadBytes = card.querySelector("[data-upload-bytes]");
  var buildBar = card.querySelector("[data-build-progress]");
  var buildStatus = card.querySelector("[data-build-status]");
  var share = card.querySelector("[data-share]");
  var result = card.querySelector("[data-result]");
  var chunkSize = parseInt(form.getAttribute("data-chunk-size"), 10) || Infinity;
  function render() {
    list.textContent = "";
    var total = 0;
    entries.forEach(function (entry, index) {
      var shown = entry.path || entry.file.name;
      total += entry.file.size;
      var item = document.createElement("li");
      item.className = "list-group-item d-flex justify-content-between align-items-center gap-2 px-0";
      var name = document.createElement("span");
      name.className = "break-all";
      name.textContent = shown;
      var right = document.createElement("span");
      right.className = "d-flex align-items-center gap-2 text-nowrap";
      var size = document.createElement("span");
      size.className = "text-body-secondary";
      size.textContent = AD.formatBytes(entry.file.size);
      var remove = document.createElement("button");
      remove.type = "button";
      remove.className = "btn btn-sm btn-outline-danger";
      remove.setAttribute("aria-label", AD.interpolate(_("Remove %s"), [shown]));
      remove.innerHTML = '<i class="bi bi-x-lg" aria-hidden="true"></i>';
      remove.addEventListener("click", function () {
        entries.splice(index, 1);
        render();
      });
      right.appendChild(size);
      right.appendChild(remove);
      item.appendChild(name);
      item.appendChild(right);
      list.appendChild(item);
    });
    summary.textContent = entries.length
      ? AD.interpolate(
          ngettext("%s file, %s", "%s files, %s", entries.length),
          [entries.length, AD.formatBytes(total)]
        )
      : "";
  }

  // Each entry: {file, path}; path is the place inside a chosen or dropped folder.
  var entries = AD.pickFiles(form, render, showError);

  function showError(message) {
    errorBox.textContent = message;
    errorBox.classList.remove("d-none");
    errorBox.focus();
  }

  function lifetimeSeconds() {
    var choice = form.querySelector("#id_lifetime").value;
    if (choice !== "custom") {
      return parseInt(choice, 10);
    }
    var amount = parseInt(form.querySelector("#id_custom_lifetime").value, 10);
    var unit = parseInt(form.querySelector("#id_custom_unit").value, 10);
    if (!amount || amount < 1) {
      return null;
    }
    return amount * unit;
  }

  function archiveBody(uploadIds) {
    var body = { uploads: uploadIds, ttl: lifetimeSeconds() };
    ["name", "description", "password"].forEach(function (field) {
      var value = form.querySelector("#id_" + field).value;
      if (value !== "") {
        body[field] = value;
      }
    });
    var limit = form.querySelector("#id_max_downloads").value;
    if (limit !== "") {
      body.max_downloads = Number(limit);
    }
    return body;
  }

  function showProgress(sent, total) {
    AD.setProgress(uploadBar, total ? (sent / total) * 100 : 100);
    uploadBytes.textContent = AD.formatBytes(sent) + " / " + AD.formatBytes(total);
  }

  /* Send one file with tus; resolves with its upload id. A broken connection is retried
     from the offset the server kept; a file sent before from this browser resumes. */
  function sendFile(entry, onProgress) {
    return new Promise(function (resolve, reject) {
      var upload = new tus.Upload(entry.file, {
        endpoint: form.getAttribute("data-uploads-api"),
        chunkSize: chunkSize,
        retryDelays: [0, 1000, 3000, 5000, 10000, 20000],
        removeFingerprintOnSuccess: true,
        headers: { "X-CSRFToken": AD.csrfToken() },
        metadata: { filename: entry.file.name, relativePath: entry.path },
        fingerprint: function (file, options) {
          return Promise.resolve(["awaiting-death", options.endpoint, entry.path, file.name,
            file.size, file.lastModified].join("/"));
        },
        onProgress: onProgress,
        onError: reject,
        onSuccess: function () {
          resolve(upload.url.split("/").pop());
        },
      });
      upload.findPreviousUploads().then(function (previous) {
        if (previous.length) {
          upload.resumeFromPreviousUpload(previous[0]);
        }
        upload.start();
      }, reject);
    });
  }

  function sendAll() {
    var total = entries.reduce(function (sum, entry) { return sum + entry.file.size; }, 0);
    var done = 0;
    var ids = [];
    showProgress(0, total);
    return entries.reduce(function (chain, entry) {
      return chain.then(function () {
        // Sent in an earlier attempt whose archive could not be made: not sent again.
        var sending = entry.uploadId ? Promise.resolve(entry.uploadId) : sendFile(entry, function (sent) {
          showProgress(done + sent, total);
        });
        return sending.then(function (id) {
          entry.uploadId = id;
          done += entry.file.size;
          ids.push(id);
          showProgress(done, total);
        });
      });
    }, Promise.resolve()).then(function () { return ids; });
  }

  function createArchive(uploadIds) {
    return fetch(form.getAttribute("data-api"), {
      method: "POST",
      credentials: "same-origin",
      headers: {
        Accept: "application/json",
        "Content-Type": "application/json",
        "X-CSRFToken": AD.csrfToken(),
      },
      body: JSON.stringify(archiveBody(uploadIds)),
    }).then(function (response) {
      return response.json().catch(function () { return null; }).then(function (body) {
        if (response.status !== 201) {
          if (response.status === 400) {
            // An upload expired or was used meanwhile: the next attempt sends afresh.
            entries.forEach(function (entry) { delete entry.uploadId; });
          }
          var error = new Error(AD.errorText(body, response.status));
          error.shown = true;
          throw error;
        }
        return body;
      });
    });
  }

  /* The archive exists: its link and QR code work now, before the ZIP is built. */
  function showShare(archive) {
    var url = archive.share_url;
    share.querySelector("[data-result-url]").value = url;
    share.querySelector("[data-result-open]").href = url;
    share.querySelector("[data-result-qr]").src = url + "qr.svg";
    share.classList.remove("d-none");
    // The form has done its work; "Upload more" starts a fresh one.
    form.querySelectorAll("input, select, textarea, button").forEach(function (field) {
      field.disabled = true;
    });
    AD.announce(_("The share link is ready; the ZIP is being built."));
  }

  function finish() {
    AD.setProgress(buildBar, 100);
    buildStatus.textContent = _("ready");
    share.querySelector("[data-share-note]").classList.add("d-none");
    result.classList.remove("d-none");
    AD.announce(_("Your archive is ready to share."));
  }

  function pollBuild(archive) {
    var url = form.getAttribute("data-api") + encodeURIComponent(archive.id) + "/";
    AD.getJSON(url).then(
      function (current) {
        if (current.status === "ready") {
          finish();
          return;
        }
        if (current.status === "failed") {
          buildStatus.textContent = _("failed");
          buildBar.querySelector(".progress-bar").classList.replace("bg-success", "bg-danger");
          showError(_("The archive could not be built.") + " " + (current.error || ""));
          return;
        }
        buildStatus.textContent = current.status === "pending" ? _("waiting") : _("building");
        AD.setProgress(buildBar, current.progress);
        window.setTimeout(function () { pollBuild(current); }, 500);
      },
      function () {
        window.setTimeout(function () { pollBuild(archive); }, 2000);
      }
    );
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    errorBox.classList.add("d-none");
    if (!entries.length) {
      showError(_("Choose at least one file."));
      return;
    }
    if (lifetimeSeconds() === null) {
      showError(_("Enter the custom lifetime, or pick one from the list."));
      return;
    }
    button.disabled = true;
    card.classList.remove("d-none");
    AD.setProgress(uploadBar, 0);
    AD.setProgress(buildBar, 0);
    buildStatus.textContent = "";
    sendAll()
      .catch(function (error) {
        error.shown = true;
        error.message = AD.tusErrorText(error);
        throw error;
      })
      .then(function (uploadIds) {
        buildStatus.textContent = _("creating the archive");
        return createArchive(uploadIds);
      })
      .then(function (archive) {
        showShare(archive);
        buildStatus.textContent = _("waiting");
        pollBuild(archive);
      })
      .catch(function (error) {
        button.disabled = false;
        buildStatus.textContent = "";
        showError(error && error.shown ? error.message : _("The upload failed. Try again."));
      });
  });
})();

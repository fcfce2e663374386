/* The upload page: collect files (chosen or dragged), list them with sizes, send them to
   POST /api/archives/ with a progress bar of bytes sent, then poll the archive until the
   ZIP is built and show the share link and its QR code. */
(function () {
  "use strict";
  var AD = window.AD;
  var _ = AD._;
  var ngettext = AD.ngettext;
  var form = document.getElementById("upload-form");
  if (!form) {
    return;
  }
  var input = form.querySelector("input[type=file]");
  var zone = form.querySelector("[data-drop-zone]");
  var list = form.querySelector("[data-file-list]");
  var summary = form.querySelector("[data-file-summary]");
  var errorBox = form.querySelector("[data-upload-error]");
  var button = form.querySelector("[data-upload-button]");
  var card = document.querySelector("[data-progress-card]");
  var uploadBar = card.querySelector("[data-upload-progress]");
  var uploadBytes = card.querySelector("[data-upload-bytes]");
  var buildBar = card.querySelector("[data-build-progress]");
  var buildStatus = card.querySelector("[data-build-status]");
  var result = card.querySelector("[data-result]");
  var files = [];

  function render() {
    list.textContent = "";
    var total = 0;
    files.forEach(function (file, index) {
      total += file.size;
      var item = document.createElement("li");
      item.className = "list-group-item d-flex justify-content-between align-items-center gap-2 px-0";
      var name = document.createElement("span");
      name.className = "break-all";
      name.textContent = file.name;
      var right = document.createElement("span");
      right.className = "d-flex align-items-center gap-2 text-nowrap";
      var size = document.createElement("span");
      size.className = "text-body-secondary";
      size.textContent = AD.formatBytes(file.size);
      var remove = document.createElement("button");
      remove.type = "button";
      remove.className = "btn btn-sm btn-outline-danger";
      remove.setAttribute("aria-label", AD.interpolate(_("Remove %s"), [file.name]));
      remove.innerHTML = '<i class="bi bi-x-lg" aria-hidden="true"></i>';
      remove.addEventListener("click", function () {
        files.splice(index, 1);
        render();
      });
      right.appendChild(size);
      right.appendChild(remove);
      item.appendChild(name);
      item.appendChild(right);
      list.appendChild(item);
    });
    summary.textContent = files.length
      ? AD.interpolate(
          ngettext("%s file, %s", "%s files, %s", files.length),
          [files.length, AD.formatBytes(total)]
        )
      : "";
  }

  function addFiles(fileList) {
    Array.prototype.forEach.call(fileList, function (file) {
      files.push(file);
    });
    render();
  }

  input.addEventListener("change", function () {
    addFiles(input.files);
    input.value = "";
  });
  ["dragenter", "dragover"].forEach(function (type) {
    zone.addEventListener(type, function (event) {
      event.preventDefault();
      zone.classList.add("is-dragover");
    });
  });
  ["dragleave", "drop"].forEach(function (type) {
    zone.addEventListener(type, function (event) {
      event.preventDefault();
      zone.classList.remove("is-dragover");
    });
  });
  zone.addEventListener("drop", function (event) {
    if (event.dataTransfer && event.dataTransfer.files.length) {
      addFiles(event.dataTransfer.files);
    }
  });

  function showError(message) {
    errorBox.textContent = message;
    errorBox.classList.remove("d-none");
    errorBox.focus();
  }

  function errorText(body, status) {
    if (!body || typeof body !== "object") {
      return AD.interpolate(_("The upload failed (HTTP %s). Try again."), [status]);
    }
    if (body.detail) {
      return body.detail;
    }
    return Object.keys(body).map(function (field) {
      var messages = Array.isArray(body[field]) ? body[field].join(" ") : String(body[field]);
      return field + ": " + messages;
    }).join(" ");
  }

  function lifetimeSeconds() {
    var choice = form.querySelector("#id_lifetime").value;
    if (choice !== "custom") {
      return choice;
    }
    var amount = parseInt(form.querySelector("#id_custom_lifetime").value, 10);
    var unit = parseInt(form.querySelector("#id_custom_unit").value, 10);
    if (!amount || amount < 1) {
      return null;
    }
    return String(amount * unit);
  }

  function buildBody() {
    var body = new FormData();
    files.forEach(function (file) {
      body.append("files", file, file.name);
    });
    ["name", "description", "password", "max_downloads"].forEach(function (field) {
      var value = form.querySelector("#id_" + field).value;
      if (value !== "") {
        body.append(field, value);
      }
    });
    body.append("ttl", lifetimeSeconds());
    return body;
  }

  function finish(archive) {
    AD.setProgress(buildBar, 100);
    buildStatus.textContent = _("ready");
    var url = archive.share_url;
    result.querySelector("[data-result-url]").value = url;
    result.querySelector("[data-result-open]").href = url;
    result.querySelector("[data-result-qr]").src = url + "qr.svg";
    result.classList.remove("d-none");
    // The form has done its work; "Upload more" starts a fresh one.
    form.querySelectorAll("input, select, textarea, button").forEach(function (field) {
      field.disabled = true;
    });
    AD.announce(_("Your archive is ready to share."));
  }

  function pollBuild(archive) {
    var url = form.getAttribute("data-api") + encodeURIComponent(archive.id) + "/";
    AD.getJSON(url).then(
      function (current) {
        if (current.status === "ready") {
          finish(current);
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
    if (!files.length) {
      showError(_("Choose at least one file."));
      return;
    }
    if (lifetimeSeconds() === null) {
      showError(_("Enter the custom lifetime, or pick one from the list."));
      return;
    }
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.getAttribute("data-api"));
    xhr.setRequestHeader("X-CSRFToken", AD.csrfToken());
    xhr.setRequestHeader("Accept", "application/json");
    xhr.responseType = "json";
    xhr.upload.addEventListener("progress", function (progress) {
      if (progress.lengthComputable) {
        AD.setProgress(uploadBar, (progress.loaded / progress.total) * 100);
        uploadBytes.textContent = AD.formatBytes(progress.loaded) + " / " + AD.formatBytes(progress.total);
      }
    });
    xhr.addEventListener("load", function () {
      if (xhr.status === 201) {
        AD.setProgress(uploadBar, 100);
        buildStatus.textContent = _("waiting");
        pollBuild(xhr.response);
        return;
      }
      button.disabled = false;
      showError(errorText(xhr.response, xhr.status));
    });
    xhr.addEventListener("error", function () {
      button.disabled = false;
      showError(_("The connection broke during the upload. Try again."));
    });
    button.disabled = true;
    card.classList.remove("d-none");
    AD.setProgress(uploadBar, 0);
    AD.setProgress(buildBar, 0);
    xhr.send(buildBody());
  });
})();

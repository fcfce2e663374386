/* What the upload page and an upload request's page share: the files a person chose,
   took from a folder or dropped (dropped folders are walked, keeping each file's path
   inside them), and the words of a failed request. */
(function () {
  "use strict";
  var AD = window.AD;
  var _ = AD._;

  /* Every file under a dropped folder, with its path; readEntries answers in batches. */
  function walk(entry) {
    if (entry.isFile) {
      return new Promise(function (resolve, reject) {
        entry.file(function (file) {
          resolve([{ file: file, path: entry.fullPath.replace(/^\/+/, "") }]);
        }, reject);
      });
    }
    var reader = entry.createReader();
    var children = [];
    return new Promise(function (resolve, reject) {
      function next() {
        reader.readEntries(function (batch) {
          if (!batch.length) {
            Promise.all(children.map(walk)).then(function (nested) {
              resolve([].concat.apply([], nested));
            }, reject);
            return;
          }
          children.push.apply(children, batch);
          next();
        }, reject);
      }
      next();
    });
  }

  /* The form's file input, its folder input ([data-folder-input]) and its drop zone
     ([data-drop-zone]) fill `entries` ({file, path}); `changed` runs after each change,
     `failed` with a message when a dropped folder cannot be read. */
  function pickFiles(form, changed, failed) {
    var entries = [];
    var input = form.querySelector("input[type=file]:not([data-folder-input])");
    var folderInput = form.querySelector("[data-folder-input]");
    var zone = form.querySelector("[data-drop-zone]");

    function add(fileList) {
      Array.prototype.forEach.call(fileList, function (file) {
        // A folder input names each file by its path inside the folder.
        entries.push({ file: file, path: file.webkitRelativePath || "" });
      });
      changed(entries);
    }

    function dropped(transfer) {
      // Items must be read while the drop event runs; folders are walked afterwards.
      var walks = [];
      Array.prototype.forEach.call(transfer.items || [], function (item) {
        if (item.kind !== "file") {
          return;
        }
        var entry = item.webkitGetAsEntry ? item.webkitGetAsEntry() : null;
        if (entry && entry.isDirectory) {
          walks.push(walk(entry));
          return;
        }
        var file = item.getAsFile();
        if (file) {
          entries.push({ file: file, path: "" });
        }
      });
      if (!transfer.items || !transfer.items.length) {
        add(transfer.files);
      }
      changed(entries);
      Promise.all(walks).then(
        function (found) {
          found.forEach(function (group) {
            entries.push.apply(entries, group);
          });
          changed(entries);
        },
        function () {
          failed(_("A dropped folder could not be read. Choose it with the folder button instead."));
        }
      );
    }

    form.querySelector("[data-folder-choice]").classList.remove("d-none");
    input.addEventListener("change", function () {
      add(input.files);
      input.value = "";
    });
    folderInput.addEventListener("change", function () {
      add(folderInput.files);
      folderInput.value = "";
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
      if (event.dataTransfer) {
        dropped(event.dataTransfer);
      }
    });
    return entries;
  }

  /* The server's message in a JSON error body, else a general one with the status. */
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

  /* The server's own message of a failed tus request, else a general one. */
  function tusErrorText(error) {
    var response = error && error.originalResponse;
    if (response) {
      var body = null;
      try {
        body = JSON.parse(response.getBody());
      } catch (ignored) {
        body = null;
      }
      return errorText(body, response.getStatus());
    }
    return _("The connection broke during the upload. Try again: what arrived is kept.");
  }

  AD.pickFiles = pickFiles;
  AD.errorText = errorText;
  AD.tusErrorText = tusErrorText;
})();

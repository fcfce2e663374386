/* The sender's page of an upload request (/r/<slug>/): files chosen, dropped or taken
   from a folder are sent one by one with tus (no account: the first creation answers an
   Upload-Token that every later request of this submission carries), under a bar of all
   bytes and a bar of the current file; then the submission is made from the finished
   uploads (JSON) and its receipt shown. The password given on the page's form is kept
   for this tab only (sessionStorage) and sent as X-Request-Password. Without this script
   the form posts the files itself. */
(function () {
  "use strict";
  var AD = window.AD;
  var _ = AD._;
  var tus = window.tus;
  var passwordForm = document.querySelector("[data-password-form]");
  var form = document.querySelector("[data-send-form]");
  var key = "inbox-password:" + location.pathname;
  if (passwordForm) {
    passwordForm.addEventListener("submit", function () {
      sessionStorage.setItem(key, passwordForm.querySelector("input[type=password]").value);
    });
  }
  if (!form || !tus || !tus.isSupported) {
    return;
  }
  var list = form.querySelector("[data-file-list]");
  var errorBox = form.querySelector("[data-send-error]");
  var card = document.querySelector("[data-send-progress]");
  var totalBar = card.querySelector("[data-total-progress]");
  var fileBar = card.querySelector("[data-file-progress]");
  var fileLabel = card.querySelector("[data-file-name]");
  var chunkSize = parseInt(form.getAttribute("data-chunk-size"), 10) || Infinity;
  var token = null;

  function render() {
    list.textContent = "";
    entries.forEach(function (entry) {
      var item = document.createElement("li");
      item.className = "list-group-item d-flex justify-content-between gap-2 px-0";
      var name = document.createElement("span");
      name.className = "break-all";
      name.textContent = entry.path || entry.file.name;
      var size = document.createElement("span");
      size.className = "text-body-secondary text-nowrap";
      size.textContent = AD.formatBytes(entry.file.size);
      item.appendChild(name);
      item.appendChild(size);
      list.appendChild(item);
    });
  }

  function showError(message) {
    errorBox.textContent = message;
    errorBox.classList.remove("d-none");
    errorBox.focus();
  }

  var entries = AD.pickFiles(form, render, showError);

  function headers() {
    var sent = {};
    var password = sessionStorage.getItem(key);
    if (password) {
      sent["X-Request-Password"] = password;
    }
    if (token) {
      sent["Upload-Token"] = token;
    }
    return sent;
  }

  function sendFile(entry, onProgress) {
    return new Promise(function (resolve, reject) {
      var upload = new tus.Upload(entry.file, {
        endpoint: form.getAttribute("data-uploads-api"),
        chunkSize: chunkSize,
        retryDelays: [0, 1000, 3000, 5000],
        headers: headers(),
        metadata: { filename: entry.file.name, relativePath: entry.path },
        storeFingerprintForResuming: false,
        onAfterResponse: function (request, response) {
          var given = response.getHeader("Upload-Token");
          if (given) {
            token = given;
            upload.options.headers["Upload-Token"] = given;
          }
        },
        onProgress: onProgress,
        onError: function (error) { reject(new Error(AD.tusErrorText(error))); },
        onSuccess: function () { resolve(upload.url.split("/").pop()); },
      });
      upload.start();
    });
  }

  function receipt(body) {
    var target = document.querySelector("[data-js-receipt]");
    target.querySelector("[data-receipt-total]").textContent = AD.formatBytes(body.receipt.total_size);
    var rows = target.querySelector("tbody");
    body.receipt.files.forEach(function (received) {
      var row = document.createElement("tr");
      [received.name, AD.formatBytes(received.size), received.sha256].forEach(function (text, index) {
        var cell = document.createElement("td");
        cell.className = index === 2 ? "font-monospace break-all" : "break-all";
        cell.textContent = text;
        row.appendChild(cell);
      });
      rows.appendChild(row);
    });
    form.classList.add("d-none");
    card.classList.add("d-none");
    target.classList.remove("d-none");
    target.querySelector("[data-receipt]").focus();
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    errorBox.classList.add("d-none");
    if (!entries.length) {
      showError(_("Add at least one file."));
      return;
    }
    var total = entries.reduce(function (sum, entry) { return sum + entry.file.size; }, 0);
    var done = 0;
    var ids = [];
    card.classList.remove("d-none");
    form.querySelector("button[type=submit]").disabled = true;
    entries.reduce(function (chain, entry) {
      return chain.then(function () {
        fileLabel.textContent = entry.path || entry.file.name;
        AD.setProgress(fileBar, 0);
        return sendFile(entry, function (sent, size) {
          AD.setProgress(fileBar, size ? (sent / size) * 100 : 100);
          AD.setProgress(totalBar, total ? ((done + sent) / total) * 100 : 100);
        }).then(function (id) {
          done += entry.file.size;
          ids.push(id);
        });
      });
    }, Promise.resolve()).then(function () {
      var fields = { uploads: ids };
      ["sender_name", "sender_email", "note"].forEach(function (name) {
        fields[name] = form.querySelector("#id_" + name).value;
      });
      var sent = headers();
      sent["Content-Type"] = "application/json";
      sent.Accept = "application/json";
      return fetch(form.getAttribute("data-submit-api"), {
        method: "POST", credentials: "omit", headers: sent, body: JSON.stringify(fields),
      }).then(function (response) {
        return response.json().catch(function () { return null; }).then(function (body) {
          if (response.status !== 201) {
            throw new Error(AD.errorText(body, response.status));
          }
          receipt(body);
        });
      });
    }).catch(function (error) {
      form.querySelector("button[type=submit]").disabled = false;
      showError(error.message);
    });
  });
})();

/* Helpers every page uses: local times, copy buttons, sizes, JSON requests, progress bars.
   Strings go through Django's JavaScript catalogue (gettext), so they follow the page's
   language. */
(function () {
  "use strict";

  var _ = window.gettext || function (text) { return text; };
  var ngettext = window.ngettext || function (singular, plural, count) {
    return count === 1 ? singular : plural;
  };
  var interpolate = window.interpolate || function (format, args) {
    return format.replace(/%s/g, function () { return String(args.shift()); });
  };
  var lang = document.documentElement.lang || undefined;

  function formatBytes(count) {
    if (count === null || count === undefined) {
      return "";
    }
    var units = [_("bytes"), _("KB"), _("MB"), _("GB"), _("TB")];
    var size = Number(count);
    var unit = 0;
    while (size >= 1024 && unit < units.length - 1) {
      size /= 1024;
      unit += 1;
    }
    var digits = unit === 0 ? 0 : 1;
    return size.toLocaleString(lang, { maximumFractionDigits: digits }) + " " + units[unit];
  }

  function formatTime(iso) {
    var date = new Date(iso);
    if (isNaN(date.getTime())) {
      return iso;
    }
    return date.toLocaleString(lang, { dateStyle: "medium", timeStyle: "short" });
  }

  /* <time datetime="ISO" data-local-time> shows the moment in the reader's time zone. */
  function showLocalTimes(root) {
    (root || document).querySelectorAll("time[data-local-time]").forEach(function (node) {
      var iso = node.getAttribute("datetime");
      if (iso) {
        node.textContent = formatTime(iso);
        node.setAttribute("title", iso);
      }
    });
  }

  function setProgress(bar, percent) {
    var value = Math.max(0, Math.min(100, Math.round(percent)));
    var inner = bar.querySelector(".progress-bar");
    bar.setAttribute("aria-valuenow", String(value));
    if (inner) {
      inner.style.width = value + "%";
      inner.textContent = value + "%";
    }
  }

  function csrfToken() {
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    if (input) {
      return input.value;
    }
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  function getJSON(url) {
    return fetch(url, {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    }).then(function (response) {
      if (!response.ok) {
        var error = new Error("HTTP " + response.status);
        error.status = response.status;
        throw error;
      }
      return response.json();
    });
  }

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "position-absolute opacity-0";
    document.body.appendChild(area);
    area.select();
    var ok = false;
    try {
      ok = document.execCommand("copy");
    } catch (ignored) {
      ok = false;
    }
    document.body.removeChild(area);
    return ok ? Promise.resolve() : Promise.reject(new Error("copy failed"));
  }

  /* <button data-copy="text"> or <button data-copy-target="#input"> copies, then says so.
     Such a button comes disabled (a click before this ran would do nothing) and is
     enabled here, with its work. */
  function wireCopyButtons(root) {
    (root || document).querySelectorAll("[data-copy], [data-copy-target]").forEach(function (button) {
      if (button.dataset.copyWired) {
        return;
      }
      button.dataset.copyWired = "1";
      button.addEventListener("click", function () {
        var text = button.getAttribute("data-copy");
        if (text === null) {
          var target = document.querySelector(button.getAttribute("data-copy-target"));
          text = target ? target.value || target.textContent : "";
        }
        var label = button.querySelector(".copy-label");
        var before = label ? label.textContent : "";
        copyText(text).then(
          function () {
            if (label) {
              label.textContent = _("Copied");
              window.setTimeout(function () { label.textContent = before; }, 2000);
            }
            announce(_("Link copied to the clipboard."));
          },
          function () {
            announce(_("Could not copy; select the link and copy it by hand."));
          }
        );
      });
      button.disabled = false;
    });
  }

  /* One polite live region per page for short spoken notices. */
  function announce(text) {
    var region = document.getElementById("live-notice");
    if (!region) {
      region = document.createElement("div");
      region.id = "live-notice";
      region.className = "visually-hidden";
      region.setAttribute("aria-live", "polite");
      document.body.appendChild(region);
    }
    region.textContent = text;
  }

  window.AD = {
    _: _,
    ngettext: ngettext,
    interpolate: interpolate,
    formatBytes: formatBytes,
    formatTime: formatTime,
    showLocalTimes: showLocalTimes,
    setProgress: setProgress,
    csrfToken: csrfToken,
    getJSON: getJSON,
    copyText: copyText,
    wireCopyButtons: wireCopyButtons,
    announce: announce,
  };

  showLocalTimes(document);
  wireCopyButtons(document);
})();

/* Notifications page: show or hide a webhook's secret, and keep a delivery log that has
   pending deliveries up to date from the API until they settle. */
(function () {
  "use strict";
  var AD = window.AD;
  var _ = AD._;
  var POLL_MS = 2000;
  var BADGES = {
    pending: [_("pending"), "text-bg-info"],
    delivered: [_("delivered"), "text-bg-success"],
    failed: [_("failed"), "text-bg-danger"],
  };

  document.querySelectorAll("[data-reveal-target]").forEach(function (button) {
    var input = document.querySelector(button.getAttribute("data-reveal-target"));
    var label = button.querySelector(".reveal-label");
    button.addEventListener("click", function () {
      var shown = input.type === "text";
      input.type = shown ? "password" : "text";
      button.setAttribute("aria-pressed", shown ? "false" : "true");
      label.textContent = shown ? _("Show") : _("Hide");
    });
    button.disabled = false; // it comes disabled: a click before this would do nothing
  });

  function cell(row, text, className) {
    var td = document.createElement("td");
    if (className) {
      td.className = className;
    }
    if (text instanceof Node) {
      td.appendChild(text);
    } else {
      td.textContent = text;
    }
    row.appendChild(td);
    return td;
  }

  function deliveryRow(delivery) {
    var row = document.createElement("tr");
    if (delivery.status === "pending") {
      row.setAttribute("data-pending", "");
    }
    var time = document.createElement("time");
    time.setAttribute("datetime", delivery.created_at);
    time.textContent = AD.formatTime(delivery.created_at);
    cell(row, time, "text-nowrap");
    var code = document.createElement("code");
    code.textContent = delivery.event;
    cell(row, code);
    cell(row, String(delivery.attempt), "text-end");
    var badge = document.createElement("span");
    var look = BADGES[delivery.status] || [delivery.status, "text-bg-secondary"];
    badge.className = "badge " + look[1];
    badge.textContent = look[0];
    cell(row, badge);
    cell(row, delivery.response_status === null ? "—" : String(delivery.response_status), "text-end");
    cell(row, delivery.error, "break-all");
    return row;
  }

  function watch(table) {
    var url = table.getAttribute("data-deliveries");
    var rows = Number(table.getAttribute("data-rows")) || 10;
    function poll() {
      AD.getJSON(url).then(function (page) {
        var body = table.tBodies[0];
        var pending = false;
        body.replaceChildren();
        page.results.slice(0, rows).forEach(function (delivery) {
          pending = pending || delivery.status === "pending";
          body.appendChild(deliveryRow(delivery));
        });
        if (pending) {
          window.setTimeout(poll, POLL_MS);
        } else {
          AD.announce(_("The delivery log is up to date."));
        }
      }, function () {
        window.setTimeout(poll, POLL_MS * 5);
      });
    }
    window.setTimeout(poll, POLL_MS);
  }

  document.querySelectorAll("table[data-deliveries]").forEach(function (table) {
    if (table.querySelector("[data-pending]")) {
      watch(table);
    }
  });
})();

/* Statistics of one archive, from the stats API: totals, downloads started against
   completed per day (7/30/90 days), top referrers and top ?src= sources, the
   per-recipient table; the download log page by page; the audit of changes, newest
   first, with older pages on request. */
(function () {
  "use strict";
  var AD = window.AD;
  var _ = AD._;
  var root = document.getElementById("stats");
  if (!root || !window.Chart) {
    return;
  }
  var statsUrl = root.getAttribute("data-stats-url");
  var lang = document.documentElement.lang || undefined;
  var charts = {};

  function themeColours() {
    var style = window.getComputedStyle(document.body);
    return {
      text: style.getPropertyValue("--bs-body-color").trim() || "#212529",
      grid: style.getPropertyValue("--bs-border-color").trim() || "#dee2e6",
      primary: style.getPropertyValue("--bs-primary").trim() || "#0d6efd",
      success: style.getPropertyValue("--bs-success").trim() || "#198754",
      info: style.getPropertyValue("--bs-info").trim() || "#0dcaf0",
    };
  }

  function draw(id, config) {
    if (charts[id]) {
      charts[id].destroy();
    }
    charts[id] = new window.Chart(document.getElementById(id), config);
  }

  function axes(colours) {
    return {
      x: { ticks: { color: colours.text, precision: 0 }, grid: { color: colours.grid } },
      y: {
        beginAtZero: true,
        ticks: { color: colours.text, precision: 0 },
        grid: { color: colours.grid },
      },
    };
  }

  function barChart(id, labels, counts, colour, colours) {
    draw(id, {
      type: "bar",
      data: {
        labels: labels,
        datasets: [{
          label: _("Downloads"), data: counts, backgroundColor: colour, maxBarThickness: 40,
        }],
      },
      options: {
        indexAxis: "y",
        maintainAspectRatio: false,
        animation: false,
        plugins: { legend: { display: false } },
        scales: axes(colours),
      },
    });
  }

  function dayLabel(iso) {
    var parts = iso.split("-");
    var date = new Date(Number(parts[0]), Number(parts[1]) - 1, Number(parts[2]));
    return date.toLocaleDateString(lang, { month: "short", day: "numeric" });
  }

  function cell(text, className) {
    var td = document.createElement("td");
    td.textContent = text;
    if (className) {
      td.className = className;
    }
    return td;
  }

  // A bar chart with no bars says so in words instead.
  function showChartOrEmpty(name, hasData) {
    root.querySelector('[data-empty="' + name + '"]').classList.toggle("d-none", hasData);
    root.querySelector('[data-chart="' + name + '"]').classList.toggle("d-none", !hasData);
  }

  function emptyRow(body, text, columns) {
    var tr = document.createElement("tr");
    var td = cell(text, "text-body-secondary");
    td.colSpan = columns;
    tr.appendChild(td);
    body.appendChild(tr);
  }

  function timeCell(iso) {
    var td = document.createElement("td");
    td.className = "text-nowrap";
    var tag = document.createElement("time");
    tag.setAttribute("datetime", iso);
    tag.setAttribute("title", iso);
    tag.textContent = AD.formatTime(iso);
    td.appendChild(tag);
    return td;
  }

  function number(value) {
    return Number(value).toLocaleString(lang);
  }

  var recipientRows = root.querySelector("[data-recipient-rows]");

  function showRecipients(recipients) {
    recipientRows.textContent = "";
    recipients.forEach(function (row) {
      var tr = document.createElement("tr");
      var th = document.createElement("th");
      th.scope = "row";
      th.className = "fw-normal cell-wide";
      th.textContent = row.link === null ? _("The archive's own link") : row.label;
      tr.appendChild(th);
      tr.appendChild(cell(number(row.views), "text-end"));
      tr.appendChild(cell(number(row.downloads), "text-end"));
      tr.appendChild(cell(number(row.completed), "text-end"));
      recipientRows.appendChild(tr);
    });
  }

  function loadStats(days) {
    root.setAttribute("data-loaded", "");
    AD.getJSON(statsUrl + "?days=" + encodeURIComponent(days)).then(function (stats) {
      var colours = themeColours();
      var period = stats.days.reduce(function (sum, day) { return sum + day.downloads; }, 0);
      root.querySelector("[data-total-views]").textContent = number(stats.total_views);
      root.querySelector("[data-total]").textContent = String(stats.total_downloads);
      root.querySelector("[data-total-completed]").textContent = number(stats.total_completed);
      root.querySelector("[data-period-total]").textContent = String(period);
      draw("chart-days", {
        type: "line",
        data: {
          labels: stats.days.map(function (day) { return dayLabel(day.date); }),
          datasets: [
            {
              label: _("Started"),
              data: stats.days.map(function (day) { return day.downloads; }),
              borderColor: colours.primary,
              backgroundColor: colours.primary,
              borderWidth: 4,
              tension: 0.2,
              fill: false,
              order: 1,
            },
            {
              label: _("Completed"),
              data: stats.days.map(function (day) { return day.completed; }),
              borderColor: colours.success,
              backgroundColor: colours.success,
              borderDash: [6, 4],
              borderWidth: 3,
              tension: 0.2,
              fill: false,
              // Drawn over "started", so the dashed line shows where the two are equal.
              order: 0,
            },
          ],
        },
        options: {
          maintainAspectRatio: false,
          animation: false,
          plugins: {
            legend: {
              display: true,
              labels: {
                color: colours.text,
                // A short stroke in each line's colour, rather than a box outlined
                // with the dashes of "completed".
                usePointStyle: true,
                pointStyle: "line",
                pointStyleWidth: 36,
                sort: function (a, b) { return a.datasetIndex - b.datasetIndex; },
              },
            },
          },
          scales: axes(colours),
        },
      });
      barChart(
        "chart-referrers",
        stats.top_referrers.map(function (row) {
          return row.referer === "(direct)" ? _("(direct)") : row.referer;
        }),
        stats.top_referrers.map(function (row) { return row.downloads; }),
        colours.success,
        colours
      );
      barChart(
        "chart-sources",
        stats.top_sources.map(function (row) { return row.source; }),
        stats.top_sources.map(function (row) { return row.downloads; }),
        colours.info,
        colours
      );
      showChartOrEmpty("referrers", stats.top_referrers.length > 0);
      showChartOrEmpty("sources", stats.top_sources.length > 0);
      showRecipients(stats.recipients);
      root.setAttribute("data-loaded", String(days));
    }, function () {
      root.querySelector("[data-period-total]").textContent = _("unavailable");
    });
  }

  /* The log: one page of the paginated API at a time. */
  var rows = root.querySelector("[data-log-rows]");
  var previous = root.querySelector("[data-log-previous]");
  var next = root.querySelector("[data-log-next]");
  var pageLabel = root.querySelector("[data-log-page]");
  var links = { previous: null, next: null };
  var pageNumber = 1;
  var pageSize = null;

  function loadLog(url, page) {
    AD.getJSON(url).then(function (answer) {
      rows.textContent = "";
      if (!answer.results.length) {
        emptyRow(rows, _("No downloads yet."), 8);
      }
      answer.results.forEach(function (row) {
        var tr = document.createElement("tr");
        tr.appendChild(timeCell(row.at));
        tr.appendChild(cell(row.recipient === null ? _("own link") : row.recipient, "cell-wide"));
        tr.appendChild(cell(row.source || "—", "text-nowrap"));
        var sent = cell(AD.formatBytes(row.bytes_sent), "text-end text-nowrap");
        sent.title = AD.interpolate(_("%s bytes"), [row.bytes_sent]);
        tr.appendChild(sent);
        tr.appendChild(cell(row.completed ? _("yes") : _("no")));
        tr.appendChild(cell(row.ip || "—", "text-nowrap"));
        tr.appendChild(cell(row.referer || "—", "break-all"));
        tr.appendChild(cell(row.user_agent || "—", "break-all user-agent"));
        rows.appendChild(tr);
      });
      pageNumber = page;
      if (pageSize === null || answer.next) {
        pageSize = Math.max(answer.results.length, 1);
      }
      var pages = Math.max(1, Math.ceil(answer.count / pageSize));
      links.previous = answer.previous;
      links.next = answer.next;
      previous.disabled = !answer.previous;
      next.disabled = !answer.next;
      pageLabel.textContent = AD.interpolate(_("Page %s of %s"), [pageNumber, pages]);
      root.setAttribute("data-log-loaded", String(pageNumber));
    });
  }

  /* The audit: the newest page first; "more" appends the next older page. */
  var ACTIONS = {
    create: _("created"),
    update: _("changed"),
    delete: _("deleted"),
    link_created: _("link created"),
    link_updated: _("link changed"),
    link_revoked: _("link revoked"),
  };
  var FIELDS = {
    name: _("name"),
    description: _("description"),
    password: _("password"),
    expires_at: _("expiry"),
    max_downloads: _("download limit"),
  };
  var VALUES = { set: _("set"), changed: _("changed"), cleared: _("cleared"), none: _("none") };
  var ISO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d/;
  var auditRows = root.querySelector("[data-audit-rows]");
  var auditMore = root.querySelector("[data-audit-more]");
  var auditNext = null;
  var auditPages = 0;

  function auditValue(text) {
    if (ISO_TIME.test(text)) {
      return AD.formatTime(text);
    }
    return Object.prototype.hasOwnProperty.call(VALUES, text) ? VALUES[text] : text;
  }

  function auditChange(entry) {
    if (!entry.old && !entry.new) {
      return "—";
    }
    if (!entry.old) {
      return auditValue(entry.new);
    }
    return auditValue(entry.old) + " → " + auditValue(entry.new);
  }

  function loadAudit(url) {
    auditMore.disabled = true;
    AD.getJSON(url).then(function (answer) {
      if (auditPages === 0) {
        auditRows.textContent = "";
        if (!answer.results.length) {
          emptyRow(auditRows, _("No changes yet."), 5);
        }
      }
      answer.results.forEach(function (entry) {
        var tr = document.createElement("tr");
        tr.appendChild(timeCell(entry.at));
        tr.appendChild(cell(entry.actor || "—", "text-nowrap"));
        tr.appendChild(cell(ACTIONS[entry.action] || entry.action, "text-nowrap"));
        var field = Object.prototype.hasOwnProperty.call(FIELDS, entry.field)
          ? FIELDS[entry.field]
          : entry.field;
        tr.appendChild(cell(field || "—", "cell-wide"));
        tr.appendChild(cell(auditChange(entry), "cell-wide"));
        auditRows.appendChild(tr);
      });
      auditPages += 1;
      auditNext = answer.next;
      auditMore.disabled = false;
      auditMore.classList.toggle("d-none", !answer.next);
      root.setAttribute("data-audit-loaded", String(auditPages));
    }, function () {
      auditMore.disabled = false;
    });
  }

  auditMore.addEventListener("click", function () {
    if (auditNext) {
      loadAudit(auditNext);
    }
  });
  previous.addEventListener("click", function () {
    if (links.previous) {
      loadLog(links.previous, pageNumber - 1);
    }
  });
  next.addEventListener("click", function () {
    if (links.next) {
      loadLog(links.next, pageNumber + 1);
    }
  });
  root.querySelectorAll("input[name=days]").forEach(function (radio) {
    radio.addEventListener("change", function () {
      if (radio.checked) {
        loadStats(radio.value);
      }
    });
  });

  var checked = root.querySelector("input[name=days]:checked");
  loadStats(checked ? checked.value : 30);
  loadLog(root.getAttribute("data-log-url"), 1);
  loadAudit(root.getAttribute("data-audit-url"));
})();

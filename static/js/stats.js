/* Statistics of one archive: a line chart of downloads per day (7/30/90 days), a bar
   chart of top referrers, both from the stats API, and the download log page by page. */
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

  function dayLabel(iso) {
    var parts = iso.split("-");
    var date = new Date(Number(parts[0]), Number(parts[1]) - 1, Number(parts[2]));
    return date.toLocaleDateString(lang, { month: "short", day: "numeric" });
  }

  function loadStats(days) {
    root.setAttribute("data-loaded", "");
    AD.getJSON(statsUrl + "?days=" + encodeURIComponent(days)).then(function (stats) {
      var colours = themeColours();
      var period = stats.days.reduce(function (sum, day) { return sum + day.downloads; }, 0);
      root.querySelector("[data-total]").textContent = String(stats.total_downloads);
      root.querySelector("[data-period-total]").textContent = String(period);
      draw("chart-days", {
        type: "line",
        data: {
          labels: stats.days.map(function (day) { return dayLabel(day.date); }),
          datasets: [{
            label: _("Downloads"),
            data: stats.days.map(function (day) { return day.downloads; }),
            borderColor: colours.primary,
            backgroundColor: colours.primary,
            tension: 0.2,
            fill: false,
          }],
        },
        options: {
          maintainAspectRatio: false,
          animation: false,
          plugins: { legend: { display: false } },
          scales: axes(colours),
        },
      });
      draw("chart-referrers", {
        type: "bar",
        data: {
          labels: stats.top_referrers.map(function (row) {
            return row.referer === "(direct)" ? _("(direct)") : row.referer;
          }),
          datasets: [{
            label: _("Downloads"),
            data: stats.top_referrers.map(function (row) { return row.downloads; }),
            backgroundColor: colours.success,
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

  function cell(text, className) {
    var td = document.createElement("td");
    td.textContent = text;
    if (className) {
      td.className = className;
    }
    return td;
  }

  function loadLog(url, number) {
    AD.getJSON(url).then(function (page) {
      rows.textContent = "";
      if (!page.results.length) {
        var empty = document.createElement("tr");
        var td = cell(_("No downloads yet."), "text-body-secondary");
        td.colSpan = 4;
        empty.appendChild(td);
        rows.appendChild(empty);
      }
      page.results.forEach(function (row) {
        var tr = document.createElement("tr");
        var time = document.createElement("td");
        time.className = "text-nowrap";
        var tag = document.createElement("time");
        tag.setAttribute("datetime", row.at);
        tag.textContent = AD.formatTime(row.at);
        time.appendChild(tag);
        tr.appendChild(time);
        tr.appendChild(cell(row.ip || "—", "text-nowrap"));
        tr.appendChild(cell(row.referer || "—", "break-all"));
        tr.appendChild(cell(row.user_agent || "—", "break-all user-agent"));
        rows.appendChild(tr);
      });
      pageNumber = number;
      if (pageSize === null || page.next) {
        pageSize = Math.max(page.results.length, 1);
      }
      var pages = Math.max(1, Math.ceil(page.count / pageSize));
      links.previous = page.previous;
      links.next = page.next;
      previous.disabled = !page.previous;
      next.disabled = !page.next;
      pageLabel.textContent = AD.interpolate(_("Page %s of %s"), [pageNumber, pages]);
      root.setAttribute("data-log-loaded", String(pageNumber));
    });
  }

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
})();

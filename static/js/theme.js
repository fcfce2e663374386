/* Follow the system's light or dark setting (Bootstrap 5.3 colour modes). Loaded in <head>
   so the page never flashes in the wrong colours. */
(function () {
  "use strict";
  var media = window.matchMedia("(prefers-color-scheme: dark)");
  function apply() {
    document.documentElement.setAttribute("data-bs-theme", media.matches ? "dark" : "light");
  }
  apply();
  if (media.addEventListener) {
    media.addEventListener("change", apply);
  }
})();

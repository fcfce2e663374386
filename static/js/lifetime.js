/* Show the custom lifetime fields only when "Custom…" is chosen. */
(function () {
  "use strict";
  var select = document.getElementById("id_lifetime");
  var custom = document.querySelector("[data-custom-lifetime]");
  if (!select || !custom) {
    return;
  }
  function update() {
    var show = select.value === "custom";
    custom.classList.toggle("d-none", !show);
    custom.querySelectorAll("input, select").forEach(function (input) {
      input.disabled = !show;
    });
  }
  select.addEventListener("change", update);
  update();
})();

// Pantau review pages: optional enhancements only; every page works without JavaScript.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("button[data-salin]").forEach(function (button) {
    var source = document.getElementById(button.getAttribute("data-salin"));
    if (!source || !navigator.clipboard) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(source.value).then(function () {
        button.textContent = "Tersalin";
      });
    });
  });
});

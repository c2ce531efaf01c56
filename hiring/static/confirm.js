// Irreversible steps ask first. A form with data-confirm="question" (or, per chosen outcome,
// data-confirm-reject / data-confirm-advance) is sent only after the person says OK in the
// browser's dialog; OK ticks the form's confirmation box ([data-confirm-box]) or adds
// confirmed=1. Without this script the server asks instead (the box must be ticked, or a
// confirmation page comes first), so the question is asked exactly once either way.
(function () {
  "use strict";

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement)) return;
    var chosen = form.querySelector('input[type="radio"][name$="outcome"]:checked');
    var question = (chosen && form.getAttribute("data-confirm-" + chosen.value)) || form.getAttribute("data-confirm");
    if (!question) return;
    var box = form.querySelector("[data-confirm-box]");
    if (box && box.checked) return; // already confirmed by ticking the box
    if (!window.confirm(question)) {
      event.preventDefault();
      return;
    }
    if (box) {
      box.checked = true;
    } else if (!form.querySelector('input[name="confirmed"]')) {
      var confirmed = document.createElement("input");
      confirmed.type = "hidden";
      confirmed.name = "confirmed";
      confirmed.value = "1";
      form.appendChild(confirmed);
    }
  });
})();

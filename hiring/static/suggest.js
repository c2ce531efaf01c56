// Suggestions from the server for a text field with a <datalist>: the field names the URL in
// data-suggest, which answers {"options": [{"value", "label"}]} for ?q=… (two characters on).
// The form works without this script: the server resolves what was typed.
(function () {
  "use strict";
  document.querySelectorAll("input[data-suggest]").forEach(function (input) {
    var list = document.getElementById(input.getAttribute("list"));
    var timer = null;
    var asked = "";
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        var q = input.value.trim();
        if (q.length < 2 || q === asked) return;
        asked = q;
        fetch(input.dataset.suggest + "?q=" + encodeURIComponent(q),
              {headers: {Accept: "application/json"}, credentials: "same-origin"})
          .then(function (response) { return response.ok ? response.json() : {options: []}; })
          .then(function (data) {
            if (input.value.trim() !== q) return; // typed on meanwhile
            list.textContent = "";
            data.options.forEach(function (item) {
              var option = document.createElement("option");
              option.value = item.value;
              if (item.label) option.textContent = item.label;
              list.appendChild(option);
            });
          })
          .catch(function () { asked = ""; });
      }, 200);
    });
  });
})();

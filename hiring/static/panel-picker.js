// The interview panel picker: as one types a name or email in "Add someone else", the
// server's matches are offered (GET /applications/people?q=…); picking one adds a ticked
// box to the panel and empties the field, ready for the next person. Without this script
// the server resolves what was typed when the form is sent.
(function () {
  "use strict";

  function setup(input) {
    var fieldset = input.closest("[data-panel-picker]");
    var options = fieldset.querySelector(".panel-options");
    var list = document.getElementById(input.getAttribute("list"));
    var status = fieldset.querySelector("[data-people-status]");
    var found = {}; // lower-case email -> person, from the latest answer
    var firstNames = {}; // lower-case first name -> the one person with it, or null when several
    var timer = null;
    var asked = "";

    function add(person) {
      var box = options.querySelector('input[type="checkbox"][value="' + person.id + '"]');
      if (!box) {
        var empty = options.querySelector("p");
        if (empty) empty.remove();
        var label = document.createElement("label");
        box = document.createElement("input");
        box.type = "checkbox";
        box.name = options.dataset.name;
        box.value = String(person.id);
        box.id = options.id + "-u" + person.id;
        label.htmlFor = box.id;
        label.appendChild(box);
        label.appendChild(document.createTextNode(" " + person.label));
        options.appendChild(label);
      }
      box.checked = true;
      input.value = "";
      list.textContent = "";
      found = {};
      firstNames = {};
      asked = "";
      status.textContent = person.label + " is on the panel.";
    }

    function search() {
      var q = input.value.trim();
      if (q.length < 2 || q === asked) return;
      asked = q;
      fetch(input.dataset.peopleSearch + "?q=" + encodeURIComponent(q),
            {headers: {Accept: "application/json"}, credentials: "same-origin"})
        .then(function (response) { return response.ok ? response.json() : {people: []}; })
        .then(function (data) {
          if (input.value.trim() !== q) return; // typed on meanwhile
          found = {};
          firstNames = {};
          list.textContent = "";
          data.people.forEach(function (person) {
            found[person.email.toLowerCase()] = person;
            var first = person.name.trim().split(/\s+/)[0].toLowerCase();
            firstNames[first] = first in firstNames ? null : person;
            var option = document.createElement("option");
            option.value = person.email;
            option.textContent = person.label;
            list.appendChild(option);
          });
          if (data.people.length >= 20) firstNames = {}; // a cut-off list cannot tell a name is unique
          status.textContent = data.people.length ? "" : "Nobody on the team matches “" + q + "”.";
          var exact = found[q.toLowerCase()];
          if (exact) add(exact); // a whole email typed or pasted
        })
        .catch(function () { asked = ""; });
    }

    input.addEventListener("input", function () {
      var picked = found[input.value.trim().toLowerCase()];
      if (picked) {
        add(picked);
        return;
      }
      clearTimeout(timer);
      timer = setTimeout(search, 200);
    });
    input.addEventListener("keydown", function (event) {
      var typed = input.value.trim().toLowerCase();
      // Enter also picks by first name when exactly one team member has it (the server
      // resolves it the same way when the form is sent).
      var picked = found[typed] || (typed.indexOf(" ") < 0 && firstNames[typed]);
      if (event.key === "Enter" && picked) {
        event.preventDefault(); // Enter picks the person instead of sending the form
        add(picked);
      }
    });
  }

  document.querySelectorAll("input[data-people-search]").forEach(setup);
})();

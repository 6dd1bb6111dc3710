/* Irritants: small progressive enhancements. Every page works without this file. */
(function () {
  "use strict";
  var root = document.documentElement;
  root.classList.remove("no-js");
  root.classList.add("js");

  /* The menu button of narrow screens: shows and hides the navigation. */
  var toggle = document.querySelector(".nav-toggle");
  var nav = document.getElementById("site-nav");
  if (toggle && nav) {
    toggle.hidden = false;
    var setOpen = function (open) {
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
      nav.classList.toggle("site-nav--open", open);
    };
    setOpen(false);
    toggle.addEventListener("click", function () {
      setOpen(toggle.getAttribute("aria-expanded") !== "true");
    });
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && toggle.getAttribute("aria-expanded") === "true") {
        setOpen(false);
        toggle.focus();
      }
    });
  }

  /* Long selects of teams (data-filter, thousands of options in a large organisation) get
     a search box above them: typing keeps the teams whose name has every word typed, accents
     and case ignored, and selects the first one when the chosen team no longer matches. */
  var SHOWN_AT_MOST = 300;
  var plain = function (text) {
    return text.normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
  };
  document.querySelectorAll("select[data-filter]").forEach(function (select) {
    var entries = Array.prototype.map.call(select.options, function (option) {
      return { option: option, text: plain(option.text + " " + option.value) };
    });
    var box = document.createElement("input");
    box.type = "search";
    box.className = "field__input unit-filter";
    box.placeholder = select.getAttribute("data-filter");
    box.setAttribute("aria-label", select.getAttribute("data-filter"));
    box.setAttribute("aria-controls", select.id);
    box.autocomplete = "off";
    box.spellcheck = false;
    select.parentNode.insertBefore(box, select);
    box.addEventListener("keydown", function (event) {
      if (event.key === "Enter") {  /* Enter picks the team, it does not send the form. */
        event.preventDefault();
        select.focus();
      }
    });
    box.addEventListener("input", function () {
      var words = plain(box.value).split(/\s+/).filter(Boolean);
      var chosen = select.value;
      var kept = document.createDocumentFragment();
      var first = null;
      var shown = 0;
      var chosenKept = false;
      entries.forEach(function (entry) {
        var value = entry.option.value;
        var matches = value === "" || words.every(function (word) {
          return entry.text.indexOf(word) !== -1;
        });
        if (!matches || shown >= SHOWN_AT_MOST) {
          return;
        }
        kept.appendChild(entry.option);
        shown += 1;
        first = first || (value !== "" ? entry.option : null);
        chosenKept = chosenKept || value === chosen;
      });
      select.replaceChildren(kept);
      select.value = chosenKept ? chosen : (first ? first.value : "");
    });
  });

  /* A form sent back with errors: its first field in error takes the focus, which brings it
     into sight; without one, the first message comes into sight. On a phone the form was
     often sent from far down a long page (the irritant's actions), and the page comes back
     at its top: the error was out of sight and nothing seemed to have happened. */
  var invalid = document.querySelector("[aria-invalid='true']");
  var message = document.querySelector(".field__errors, .form-errors, .form-error");
  if (invalid) {
    invalid.focus();
  } else if (message && message.getBoundingClientRect().bottom > window.innerHeight) {
    message.scrollIntoView({ block: "center" });
  }

  /* Buttons with data-confirm ask before submitting their form. */
  document.addEventListener("submit", function (event) {
    var button = event.submitter;
    var message = button && button.getAttribute("data-confirm");
    if (message && !window.confirm(message)) {
      event.preventDefault();
    }
  });

  /* A form is submitted once: its submit buttons are disabled while the page loads. */
  document.addEventListener("submit", function (event) {
    if (event.defaultPrevented) {
      return;
    }
    var form = event.target;
    window.setTimeout(function () {
      form.querySelectorAll("button[type=submit], input[type=submit]").forEach(function (b) {
        b.disabled = true;
      });
    }, 0);
  });
})();

/* Coming back with the browser's Back button: the buttons work again. */
window.addEventListener("pageshow", function () {
  document.querySelectorAll("button[type=submit]:disabled, input[type=submit]:disabled")
    .forEach(function (b) { b.disabled = false; });
});

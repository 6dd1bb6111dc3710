/* Irritants: small progressive enhancements. Every page works without this file. */
(function () {
  "use strict";
  var root = document.documentElement;
  root.classList.remove("no-js");
  root.classList.add("js");

  /* The items of a JSON list the page asks for as the user types (team suggestions, similar
     irritants): [] when the answer is not ok. `pending`: an AbortController or null.
     intake.js uses it too (window.Irritants.jsonItems). */
  var jsonItems = function (url, pending) {
    return fetch(url, {
      credentials: "same-origin",
      headers: { "Accept": "application/json" },
      signal: pending ? pending.signal : undefined
    }).then(function (response) {
      return response.ok ? response.json() : { items: [] };
    }).then(function (body) {
      return Array.isArray(body.items) ? body.items : [];
    });
  };
  window.Irritants = { jsonItems: jsonItems };

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

  /* A team picker (input[data-unit-picker]: a large organisation's teams, too many for a
     select) is a combobox: from 2 characters typed, and once typing pauses, the teams whose
     name or key has them are asked for (the URL of data-unit-picker, &q=) and listed under
     the box; a tap, or the arrows then Enter, puts one in the box as "Name (key)", which the
     server reads back. Without this script the box still takes a key, "Name (key)" or a
     name. Every text from the server is set with textContent. */
  var PICKER_FROM = 2;
  var PICKER_DELAY = 200;
  var PICKED = /\([^()]*\)\s*$/;
  document.querySelectorAll("input[data-unit-picker]").forEach(function (input, number) {
    if (!window.fetch) {
      return;
    }
    var url = input.getAttribute("data-unit-picker");
    var list = document.createElement("ul");
    list.id = (input.id || "unit-picker-" + number) + "-suggestions";
    list.className = "unit-picker__list";
    list.setAttribute("role", "listbox");
    list.hidden = true;
    var label = input.labels && input.labels[0];
    if (label) {
      list.setAttribute("aria-label", label.textContent.trim());
    }
    var wrapper = document.createElement("div");
    wrapper.className = "unit-picker";
    input.parentNode.insertBefore(wrapper, input);
    wrapper.appendChild(input);
    wrapper.appendChild(list);
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", list.id);

    var items = [];
    var active = -1;
    var timer = null;
    var pending = null;
    var asked = input.value.trim();

    var setActive = function (index) {
      var options = list.children;
      if (options[active]) {
        options[active].setAttribute("aria-selected", "false");
      }
      active = index;
      if (options[active]) {
        options[active].setAttribute("aria-selected", "true");
        input.setAttribute("aria-activedescendant", options[active].id);
        options[active].scrollIntoView({ block: "nearest" });
      } else {
        input.removeAttribute("aria-activedescendant");
      }
    };
    var setOpen = function (open) {
      list.hidden = !open;
      input.setAttribute("aria-expanded", open ? "true" : "false");
      if (!open) {
        setActive(-1);
      }
    };
    var show = function (found) {
      setActive(-1);
      items = found;
      list.replaceChildren();
      found.forEach(function (item, index) {
        var option = document.createElement("li");
        option.id = list.id + "-" + index;
        option.className = "unit-picker__option";
        option.setAttribute("role", "option");
        option.setAttribute("aria-selected", "false");
        option.textContent = item.label;
        list.appendChild(option);
      });
      setOpen(found.length > 0);
      /* Under a box low on a phone's screen, the list would open out of sight. */
      var height = window.visualViewport ? window.visualViewport.height : window.innerHeight;
      if (found.length && list.getBoundingClientRect().bottom > height) {
        list.scrollIntoView({ block: "nearest" });
      }
    };
    var pick = function (index) {
      var item = items[index];
      if (!item) {
        return;
      }
      input.value = item.label;
      asked = item.label;
      setOpen(false);
      input.dispatchEvent(new Event("change", { bubbles: true }));
    };
    var ask = function () {
      var text = input.value.trim();
      if (text === asked) {
        return;
      }
      asked = text;
      if (pending) {
        pending.abort();
        pending = null;
      }
      if (text.length < PICKER_FROM) {
        show([]);
        return;
      }
      pending = window.AbortController ? new AbortController() : null;
      var separator = url.indexOf("?") === -1 ? "?" : "&";
      jsonItems(url + separator + "q=" + encodeURIComponent(text), pending).then(function (items) {
        if (text === asked && document.activeElement === input) {
          show(items);
        }
      }).catch(function () { /* no suggestions: the box still takes what is typed */ });
    };

    input.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(ask, PICKER_DELAY);
    });
    /* A chosen team ("Name (key)") is selected when the box takes the focus, so that what
       is typed next replaces it; the mouseup of that tap or click would place the caret. */
    var selecting = false;
    input.addEventListener("focus", function () {
      selecting = PICKED.test(input.value);
      if (selecting) {
        input.select();
      }
    });
    input.addEventListener("mouseup", function (event) {
      if (selecting) {
        event.preventDefault();
        selecting = false;
      }
    });
    input.addEventListener("keydown", function (event) {
      var open = !list.hidden;
      selecting = false;
      if ((event.key === "ArrowDown" || event.key === "ArrowUp") && items.length) {
        event.preventDefault();
        var down = event.key === "ArrowDown";
        setOpen(true);
        if (active < 0) {
          setActive(down ? 0 : items.length - 1);
        } else {
          setActive((active + (down ? 1 : -1) + items.length) % items.length);
        }
      } else if (event.key === "Enter" && open && active >= 0) {
        event.preventDefault();  /* picks the team, does not send the form */
        pick(active);
      } else if (event.key === "Escape" && open) {
        event.preventDefault();
        event.stopPropagation();
        setOpen(false);
      }
    });
    input.addEventListener("blur", function () {
      selecting = false;
      setOpen(false);
    });
    /* A tap on a suggestion keeps the focus in the box (no blur closing the list first). */
    list.addEventListener("mousedown", function (event) {
      event.preventDefault();
    });
    list.addEventListener("click", function (event) {
      var option = event.target.closest("[role=option]");
      if (option) {
        pick(Array.prototype.indexOf.call(list.children, option));
      }
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

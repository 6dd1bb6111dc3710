/* Intake page: the duplicate hint, and a photo size check before sending.
   Every text from the server is set with textContent, never as HTML. */
(function () {
  "use strict";
  var form = document.getElementById("intake-form");
  if (!form || !window.fetch || !window.Irritants) {  // app.js (loaded first) shares jsonItems
    return;
  }
  var category = form.querySelector("[name=category]");
  var origin = form.querySelector("[name=origin_unit]");
  var customerRef = form.querySelector("[name=customer_ref]");
  var photo = form.querySelector("[name=photo]");
  var section = document.getElementById("similar");
  var list = document.getElementById("similar-list");
  var template = document.getElementById("similar-item");
  var url = form.getAttribute("data-similar-url");
  var lastQuery = null;
  var pending = null;

  function clear() {
    while (list.firstChild) {
      list.removeChild(list.firstChild);
    }
  }

  function render(items) {
    clear();
    items.forEach(function (item) {
      var node = template.content.cloneNode(true);
      node.querySelector(".similar__description").textContent = item.description;
      node.querySelector(".similar__meta").textContent = item.meta;
      var againForm = node.querySelector(".similar__form");
      againForm.setAttribute("action", item.again_url);
      againForm.addEventListener("submit", function () {
        againForm.querySelector("[name=customer_ref]").value = customerRef ? customerRef.value : "";
      });
      node.querySelector(".similar__link").setAttribute("href", item.url);
      list.appendChild(node);
    });
    section.hidden = items.length === 0;
  }

  function lookUp() {
    if (!category || !category.value) {
      render([]);
      lastQuery = null;
      return;
    }
    var query = "?category=" + encodeURIComponent(category.value) +
      "&origin=" + encodeURIComponent(origin ? origin.value : "");
    if (query === lastQuery) {
      return;
    }
    lastQuery = query;
    if (pending) {
      pending.abort();
    }
    pending = window.AbortController ? new AbortController() : null;
    window.Irritants.jsonItems(url + query, pending).then(function (items) {
      if (query === lastQuery) {
        render(items);
      }
    }).catch(function () { /* the hint is optional: the form works without it */ });
  }

  if (category) {
    category.addEventListener("change", lookUp);
  }
  if (origin) {
    origin.addEventListener("change", lookUp);
  }
  var description = form.querySelector("[name=description]");
  if (description) {
    description.addEventListener("focus", lookUp);
  }
  lookUp();

  /* A photo over the limit would make the server refuse the whole form: say it first. */
  var limit = parseInt(form.getAttribute("data-photo-max"), 10);
  if (photo && limit) {
    var check = function () {
      var file = photo.files && photo.files[0];
      var tooLarge = Boolean(file && file.size > limit);
      photo.setCustomValidity(tooLarge ? form.getAttribute("data-photo-too-large") : "");
      return !tooLarge;
    };
    photo.addEventListener("change", function () {
      if (!check()) {
        photo.reportValidity();
      }
    });
    form.addEventListener("submit", function (event) {
      if (!check()) {
        event.preventDefault();
        event.stopImmediatePropagation();
        var details = photo.closest("details");
        if (details) {
          details.open = true;
        }
        photo.reportValidity();
      }
    }, true);
  }
})();

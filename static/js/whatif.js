/* What-if run page: polls the run's status and shows its progress; reloads when done.
   Every text is set with textContent, never as HTML. Without scripts, a Refresh link. */
(function () {
  "use strict";
  var box = document.querySelector(".whatif-progress[data-status-url]");
  if (!box || !window.fetch) {
    return;
  }
  var url = box.getAttribute("data-status-url");
  var bar = box.querySelector("progress");
  var progressText = box.querySelector("[data-progress]");
  var totalText = box.querySelector("[data-total]");
  var format = new Intl.NumberFormat(document.documentElement.lang || undefined);
  var delay = 1000;

  function show(status) {
    if (status.total > 0) {
      bar.max = status.total;
      totalText.textContent = format.format(status.total);
    }
    bar.value = status.progress;
    progressText.textContent = format.format(status.progress);
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("status " + response.status);
        }
        return response.json();
      })
      .then(function (status) {
        show(status);
        if (status.done) {
          window.location.assign(status.url);
          return;
        }
        delay = 1000;
        window.setTimeout(poll, delay);
      })
      .catch(function () {
        delay = Math.min(delay * 2, 15000);  /* back off while the server is unreachable */
        window.setTimeout(poll, delay);
      });
  }

  window.setTimeout(poll, delay);
})();

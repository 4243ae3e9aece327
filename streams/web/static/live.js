// The live count: asks /api/count how many matching articles were indexed after the
// search's as-of time, and says so. Text only (textContent), nothing from the network is
// inserted as HTML.
"use strict";
(function () {
  const el = document.getElementById("live");
  if (!el || !el.dataset.asOf) return;
  const seconds = Math.max(parseFloat(el.dataset.poll) || 10, 0.5);
  const url = el.dataset.countUrl + (el.dataset.countUrl.endsWith("?") ? "" : "&") +
    "after=" + encodeURIComponent(el.dataset.asOf);
  let shown = -1;
  async function poll() {
    try {
      const resp = await fetch(url, { headers: { Accept: "application/json" } });
      if (resp.ok) {
        const data = await resp.json();
        const n = Number(data.new) || 0;
        if (n > 0 && n !== shown) {
          shown = n;
          el.textContent = "";
          const text = document.createElement("span");
          text.className = "live-text";
          text.textContent = n + (n === 1 ? " new article matches" : " new articles match") +
            " since you searched. ";
          const link = document.createElement("a");
          link.href = el.dataset.reload;
          link.textContent = "Show them";
          el.append(text, link);
          el.hidden = false;
        }
      }
    } catch (err) {
      // the server went away for a moment: try again at the next tick
    }
    window.setTimeout(poll, seconds * 1000);
  }
  window.setTimeout(poll, seconds * 1000);
})();

// Keeps a run page up to date: fetches the items fragment every two seconds until the run ends.
(function () {
  const box = document.querySelector("[data-live]");
  if (!box) return;
  const url = box.getAttribute("data-live");
  async function tick() {
    try {
      const answer = await fetch(url, { cache: "no-store", credentials: "same-origin" });
      if (answer.ok) {
        box.innerHTML = await answer.text();
        if (box.querySelector("[data-done]")) return;
      }
    } catch (e) {
      // the bot may be restarting: try again on the next tick
    }
    setTimeout(tick, 2000);
  }
  setTimeout(tick, 2000);
})();

// nitrous dev: learns of a new build of the app (see `cargo nitrous dev`). On a new version it
// fires a cancelable `nitrous:update` event on window (detail: { version, pageChanged }); unless a
// listener cancels it, the page reloads when its own HTML changed. Sockets reconnect by themselves.
(() => {
  if (window.__nitrousDev) return;
  window.__nitrousDev = true;
  const page = () =>
    fetch(location.href, { cache: "no-store", headers: { accept: "text/html" } })
      .then((response) => response.text())
      .catch(() => null);
  let html = page();
  let version = null;
  const source = new EventSource("/__nitrous/dev");
  source.addEventListener("version", async (event) => {
    if (version === null || version === event.data) {
      version = event.data;
      return;
    }
    version = event.data;
    const before = await html;
    html = page();
    const after = await html;
    const pageChanged = before !== null && after !== null && before !== after;
    console.info(`nitrous dev: new build${pageChanged ? ", reloading the page" : ""}`);
    const update = new CustomEvent("nitrous:update", {
      cancelable: true,
      detail: { version, pageChanged },
    });
    if (window.dispatchEvent(update) && pageChanged) location.reload();
  });
})();

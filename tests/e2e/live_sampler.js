// Watches the live view inside the page, for the browser tests and bench/bench_live.py:
// every redraw (the live view's frame number changing, seen by a MutationObserver, so none is
// missed), and every `intervalMs` a sample of the page: pictures missing or without size,
// layout jumps of the content below the live view, and stale (fading) elements. Kept cheap,
// since eight pages may run it at once on one core. Install with
// page.evaluate(<this file>, {intervalMs, kind}); read with
// page.evaluate("() => window.__liveSampler.report()").
(options) => {
  const intervalMs = options.intervalMs || 50;
  const kind = options.kind || "network";
  const start = performance.now();
  const state = { samples: 0, missing: 0, stale: 0, jumps: 0, frames: [], lastBelow: null };
  let found = null;
  let observer = null;

  const findRoot = () => {
    for (const host of document.querySelectorAll("[data-testid='stElementContainer'] *")) {
      const root =
        host.shadowRoot && host.shadowRoot.querySelector(`.nv-root[data-kind='${kind}']`);
      if (root) return { root, container: host.closest("[data-testid='stElementContainer']") };
    }
    return null;
  };
  const record = () => {
    const frame = Number(found.root.dataset.frame);
    const last = state.frames[state.frames.length - 1];
    if (!last || last[1] !== frame) state.frames.push([Math.round(performance.now() - start), frame]);
  };
  const below = () => {
    // the first visible element after the live view's: what a layout jump would move
    let next = found.container && found.container.nextElementSibling;
    while (next && next.getBoundingClientRect().height === 0) next = next.nextElementSibling;
    return next ? next.getBoundingClientRect().top : null;
  };
  const sample = () => {
    state.samples += 1;
    if (!found || !found.root.isConnected) {
      found = findRoot();
      if (observer) observer.disconnect();
      observer = null;
      state.lastBelow = null;
      if (found) {
        observer = new MutationObserver(record);
        observer.observe(found.root, { attributes: true, attributeFilter: ["data-frame"] });
        record();
      }
    }
    if (!found) {
      state.missing += 1;
      return;
    }
    const empty = Array.from(found.root.querySelectorAll("canvas")).some((c) => {
      if (c.style.display === "none") return false;
      const r = c.getBoundingClientRect();
      return r.width === 0 || r.height === 0;
    });
    if (empty) state.missing += 1;
    const y = below();
    if (y !== null && state.lastBelow !== null && Math.abs(y - state.lastBelow) > 2) state.jumps += 1;
    state.lastBelow = y;
    if (document.querySelector("[data-testid='stMain'] [data-stale='true']")) state.stale += 1;
  };
  const timer = setInterval(sample, intervalMs);
  window.__liveSampler = {
    report: () => {
      const seconds = (performance.now() - start) / 1000;
      return { ...state, lastBelow: undefined, seconds, redraws: Math.max(0, state.frames.length - 1) };
    },
    stop: () => {
      clearInterval(timer);
      if (observer) observer.disconnect();
    },
  };
  return true;
};

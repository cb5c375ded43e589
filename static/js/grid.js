// The grid is one tab stop (a roving tabindex): Tab reaches the current tile, then only that tile's actions (its ⋯
// menu, Retry), then leaves the grid; the arrow keys move across tiles (up and down by row), Home/End to the ends,
// Enter opens the tile, Space ticks it, so its link and checkbox need no stop of their own.
const INNER = "input, a, summary, button";
const BY_KEY = ".select-box, a.thumb";  // reached by Enter and Space on the tile instead

function tiles() {
  return Array.prototype.slice.call(document.querySelectorAll("#tiles > li.tile"));
}

export function activate(current) {
  tiles().forEach(function (tile) {
    const on = tile === current;
    tile.tabIndex = on ? 0 : -1;
    tile.querySelectorAll(INNER).forEach(function (control) {
      if (on && !control.matches(BY_KEY)) control.removeAttribute("tabindex"); else control.tabIndex = -1;
    });
  });
}

// After tiles come or go: keep exactly one tile in the tab order (the current one, else the first).
function settle() {
  const all = tiles();
  if (!all.length) return;
  const current = all.find(function (tile) { return tile.tabIndex === 0; });
  const stray = all.some(function (tile) {
    return tile !== current && (tile.tabIndex === 0 || tile.querySelector(INNER + ":not([tabindex])"));
  });
  const loose = current && current.querySelector(".select-box:not([tabindex]), a.thumb:not([tabindex])");
  if (!current || stray || loose) activate(current || all[0]);
}

// How many tiles make a row, from where they are laid out.
function columns(all) {
  const top = all[0].offsetTop;
  let count = 0;
  while (count < all.length && all[count].offsetTop === top) count += 1;
  return Math.max(1, count);
}

function target(all, index, key) {
  const moves = { ArrowLeft: -1, ArrowRight: 1, ArrowUp: -columns(all), ArrowDown: columns(all) };
  if (key === "Home") return all[0];
  if (key === "End") return all[all.length - 1];
  if (!(key in moves)) return null;
  return all[Math.min(all.length - 1, Math.max(0, index + moves[key]))];
}

document.addEventListener("keydown", function (event) {
  const tile = event.target.closest && event.target.closest("#tiles > li.tile");
  if (!tile || event.altKey || event.ctrlKey || event.metaKey) return;
  // On the tile itself every key; on its link (where focus lands after a delete) only the moves.
  if (event.target !== tile && !(event.target.matches("a.thumb") && event.key !== "Enter" && event.key !== " ")) return;
  if (event.key === "Enter") {
    const open = tile.querySelector("a.thumb");
    if (open) { event.preventDefault(); open.click(); }
    return;
  }
  if (event.key === " ") {
    const box = tile.querySelector(".select-box");
    if (box) { event.preventDefault(); box.click(); }
    return;
  }
  const all = tiles();
  const next = target(all, all.indexOf(tile), event.key);
  if (!next) return;
  event.preventDefault();
  activate(next);
  next.focus();
});

document.addEventListener("focusin", function (event) {
  const tile = event.target.closest && event.target.closest("#tiles > li.tile");
  if (tile && tile.tabIndex !== 0) activate(tile);
});

export function startGrid() {
  const main = document.getElementById("main");
  if (!main || !document.getElementById("tiles")) return;
  settle();
  let queued = false;
  new MutationObserver(function () {
    if (queued) return;
    queued = true;
    window.queueMicrotask(function () { queued = false; settle(); });
  }).observe(main, { childList: true, subtree: true });
}

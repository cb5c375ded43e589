// Where focus goes when the thing that had it disappears: the next tile (or the one before), else the empty state;
// never the body.
import { el } from "./dom.js";

export function neighbour(tile) {
  let next = tile.nextElementSibling;
  while (next && !next.classList.contains("tile")) next = next.nextElementSibling;
  if (next) return next;
  let prev = tile.previousElementSibling;
  while (prev && !prev.classList.contains("tile")) prev = prev.previousElementSibling;
  return prev;
}

export function focusTile(tile) {
  if (tile && tile.isConnected) {
    const target = tile.querySelector("a.thumb") || tile.querySelector(".select-box") || tile;
    target.focus();
    return;
  }
  const list = document.getElementById("tiles");
  if (!list) return;
  let empty = document.getElementById("empty");
  if (!empty) {
    empty = el("li", "empty", "Nothing here any more.");
    empty.id = "empty";
    empty.tabIndex = -1;
    const more = document.getElementById("more");
    if (more) list.insertBefore(empty, more); else list.appendChild(empty);
  }
  empty.focus();
}

export function focusWhenGone(tile, next) {
  let tries = 0;
  (function check() {
    // htmx swaps the tile out (or in again, for a retry) right after this event; focus follows the swap.
    if (tile.isConnected && tries < 200) { tries += 1; window.setTimeout(check, 10); return; }
    const list = document.getElementById("tiles");
    focusTile(next && next.isConnected ? next : list && list.querySelector("li.tile"));
  })();
}

// Runs `then` once htmx has swapped `old` out (its replacement is in the page by then).
export function afterSwap(old, then) {
  let tries = 0;
  (function check() {
    if (old && old.isConnected && tries < 200) { tries += 1; window.setTimeout(check, 10); return; }
    then();
  })();
}

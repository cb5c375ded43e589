// The details dialog, the tiles' ⋯ menus, copy buttons, confirmations, and where focus goes after a delete,
// retry, bulk action, Undo or a restore.
import { announce } from "./dom.js";
import { afterSwap, focusTile, focusWhenGone, neighbour } from "./focus.js";
import { forget } from "./live.js";

function dialog() {
  return document.getElementById("details-dialog");
}

function fallbackCopy(text) {
  const area = document.createElement("textarea");
  area.value = text;
  area.setAttribute("readonly", "");
  area.style.position = "fixed";
  area.style.opacity = "0";
  document.body.appendChild(area);
  area.select();
  let worked = false;
  try { worked = document.execCommand("copy"); } catch (e) { worked = false; }
  area.remove();
  return worked;
}

function copy(text, button) {
  function ok() {
    const old = button.textContent;
    button.textContent = "Copied";
    announce("Copied to the clipboard");
    window.setTimeout(function () { button.textContent = old; }, 1500);
  }
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).then(ok, function () { fallbackCopy(text) && ok(); });
  } else if (fallbackCopy(text)) {
    ok();
  }
}

document.addEventListener("click", function (event) {
  const button = event.target.closest("[data-copy]");
  if (button) copy(button.dataset.copy, button);
});

document.addEventListener("submit", function (event) {
  const form = event.target;
  if (form.dataset && form.dataset.confirm && !window.confirm(form.dataset.confirm)) event.preventDefault();
});

document.addEventListener("htmx:afterSwap", function (event) {
  const target = event.detail.target;
  if (target && target.id === "dialog-body" && dialog()) {
    if (!dialog().open) dialog().showModal();
    const title = document.getElementById("details-title");
    if (title) title.focus();
  }
});

document.addEventListener("file-deleted", function (event) {
  const detail = event.detail || {};
  const d = dialog();
  if (d && d.open) d.close();
  const body = document.getElementById("dialog-body");
  if (body) body.innerHTML = "";
  announce("Deleted " + (detail.name || "the file"));
  forget("tile-" + detail.id);
  const tile = document.getElementById("tile-" + detail.id);
  if (tile) focusWhenGone(tile, neighbour(tile));
});

document.addEventListener("file-retried", function (event) {
  const detail = event.detail || {};
  const tile = document.getElementById("tile-" + detail.id);
  announce((detail.name || "The file") + " is queued again");
  if (tile) focusWhenGone(tile, neighbour(tile));
});

document.addEventListener("bulk-done", function (event) {
  const detail = event.detail || {};
  announce(detail.message || "Done");
  const grid = document.getElementById("grid");
  if (grid) focusWhenGone(grid, null);  // the new grid replaces this one; then its first tile (or empty state)
});

// The tile that opened the details dialog: an edit there swaps that tile for a new one, so on closing, focus goes
// to the tile now standing in its place rather than falling to the body.
let openerId = null;

document.addEventListener("htmx:beforeRequest", function (event) {
  const elt = event.detail.elt;
  const tile = elt && elt.closest && elt.matches("a.thumb") && elt.closest("li.tile");
  if (tile) openerId = tile.id;
});

document.addEventListener("close", function (event) {
  if (event.target !== dialog() || !openerId) return;
  const id = openerId;
  openerId = null;
  window.setTimeout(function () {  // after the browser has tried to give focus back to what opened the dialog
    const active = document.activeElement;
    if (active && active !== document.body && active.isConnected) return;
    const tile = document.getElementById(id);
    if (tile) focusTile(tile);
  }, 0);
}, true);

// Undo in the gallery: focus the first restored tile once the new grid is in.
document.addEventListener("files-restored", function (event) {
  const ids = (event.detail && event.detail.ids) || [];
  afterSwap(document.getElementById("grid"), function () {
    const tile = ids.map(function (id) { return document.getElementById("tile-" + id); }).find(Boolean);
    if (tile) { focusTile(tile); return; }
    const status = document.getElementById("undo");  // restored outside this view: the status that says so
    if (status) { status.tabIndex = -1; status.focus(); }
  });
});

// Restore or Delete for good in the Trash: the row becomes a short status; focus moves to the next row's action.
document.addEventListener("trash-row-done", function (event) {
  const id = "trashed-" + ((event.detail && event.detail.id) || "");
  afterSwap(document.getElementById(id), function () { focusAfterRow(document.getElementById(id)); });
});

function focusAfterRow(row) {
  if (!row) return;
  let next = row.nextElementSibling;
  while (next && !next.matches("li.trashed:not(.done)")) next = next.nextElementSibling;
  let prev = row.previousElementSibling;
  while (!next && prev && !prev.matches("li.trashed:not(.done)")) prev = prev.previousElementSibling;
  const other = next || prev;
  const target = (other && other.querySelector("button.restore")) || row.querySelector("a") || row;
  if (target === row) row.tabIndex = -1;
  target.focus();
}

// The ⋯ menu of a tile: one open at a time; Escape or a click elsewhere closes it (Escape gives focus back to ⋯).
function openMenus() {
  return Array.prototype.slice.call(document.querySelectorAll("details.menu[open]"));
}

document.addEventListener("toggle", function (event) {
  const menu = event.target;
  if (!menu.matches || !menu.matches("details.menu") || !menu.open) return;
  openMenus().forEach(function (other) { if (other !== menu) other.open = false; });
}, true);

document.addEventListener("keydown", function (event) {
  if (event.key !== "Escape") return;
  const menu = event.target.closest && event.target.closest("details.menu[open]");
  openMenus().forEach(function (open) { open.open = false; });
  if (menu) { event.preventDefault(); menu.querySelector("summary").focus(); }
});

document.addEventListener("click", function (event) {
  openMenus().forEach(function (menu) { if (!menu.contains(event.target)) menu.open = false; });
});

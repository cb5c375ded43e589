// Tiles that change without a reload: processing tiles refreshed together, new files from anywhere, and the
// announcements of each tile's new state.
import { announce, fetchCounts, tilesOf } from "./dom.js";
import { focusTile } from "./focus.js";
import { updateSelection } from "./selection.js";

const lastState = {};

export function noteState(tile) {
  if (!tile || !tile.id || tile.id.indexOf("tile-") !== 0) return;
  const state = tile.dataset.state;
  if (lastState[tile.id] === state) return;
  lastState[tile.id] = state;
  const name = tile.dataset.name;
  const words = { processing: " uploaded, processing", ready: " is ready", failed: " failed", file: " uploaded (not an image)" };
  if (words[state]) announce(name + words[state]);
}

export function forget(tileId) {
  delete lastState[tileId];
}

export function remember(tile) {
  lastState[tile.id] = tile.dataset.state;
}

// The counts line and "Select all N that match" follow arrivals and finished tiles: one request at a time, and one
// more if anything changed meanwhile.
let counting = false;
let recount = false;

export function refreshCounts() {
  const grid = document.getElementById("grid");
  if (!grid || !grid.dataset.countsUrl) return;
  if (counting) { recount = true; return; }
  counting = true;
  fetchCounts(grid.dataset.countsUrl).then(function (fresh) {
    const old = document.getElementById("counts");
    if (!fresh || !old || document.getElementById("grid") !== grid) return;
    old.replaceWith(fresh);
    grid.dataset.matching = fresh.dataset.matching;
    grid.dataset.estimated = fresh.dataset.estimated;
    updateSelection();
  }).catch(function () { /* the next arrival asks again */ }).then(function () {
    counting = false;
    if (recount) { recount = false; refreshCounts(); }
  });
}

// Processing tiles are refreshed together: one request a second for all of them (`…/content/tiles?ids=…`)
// instead of one per tile (a hundred dropped photos made a hundred requests a second). Each tile's own
// `hx-trigger="load delay:1s"` stays in the markup for htmx without this script, and is cancelled here.
const TILES_MS = 1000;
let refreshing = false;

function tilesUrl() {
  const grid = document.getElementById("grid");
  return grid && grid.dataset.tilesUrl;
}

document.addEventListener("htmx:beforeRequest", function (event) {
  const elt = event.detail.elt;
  if (elt && elt.classList && elt.classList.contains("tile") && elt.dataset.state === "processing" &&
      event.detail.requestConfig && event.detail.requestConfig.verb === "get" && tilesUrl()) {
    event.preventDefault();
  }
});

function refreshProcessing() {
  const url = tilesUrl();
  const waiting = Array.prototype.slice.call(document.querySelectorAll('#tiles li.tile[data-state="processing"]'), 0, 100);
  if (!url || !waiting.length || refreshing) return;
  refreshing = true;
  const query = waiting.map(function (tile) { return "ids=" + encodeURIComponent(tile.dataset.id); }).join("&");
  fetch(url + "?" + query, { headers: { "HX-Request": "true" }, credentials: "same-origin" }).then(function (response) {
    return response.status === 200 ? response.text() : null;
  }).then(function (html) {
    if (!html) return;
    refreshCounts();
    tilesOf(html).forEach(function (tile) {
      const old = document.getElementById(tile.id);
      if (!old) return;
      const box = old.querySelector(".select-box");
      const picked = box && box.checked;
      const focused = old.contains(document.activeElement);  // a finished tile keeps the focus it had
      old.replaceWith(tile);
      if (focused) focusTile(tile);
      if (picked && tile.querySelector(".select-box")) tile.querySelector(".select-box").checked = true;
      htmx.process(tile);
      noteState(tile);
    });
    updateSelection();
  }).catch(function () { /* the next round tries again */ }).then(function () {
    refreshing = false;
  });
}

// New files from anywhere (another browser, the API, the CLI) appear within seconds: a light poll for ids newer
// than the newest tile, answered 204 when there are none.
const POLL_MS = 5000;
let polling = false;

function pollNewer() {
  const grid = document.getElementById("grid");
  const list = document.getElementById("tiles");
  if (!grid || !list || !grid.dataset.newerUrl || polling || document.hidden) return;
  if (!grid.dataset.newest && grid.dataset.newest !== "") return;
  let newest = grid.dataset.newest || "";
  if (document.getElementById("sort") && document.getElementById("sort").value !== "newest") return;
  list.querySelectorAll("li.tile[data-id]").forEach(function (tile) {
    if (tile.dataset.id > newest) newest = tile.dataset.id;
  });
  if (!newest) newest = "fil_0";
  polling = true;
  const url = grid.dataset.newerUrl + (grid.dataset.newerUrl.indexOf("?") >= 0 ? "&" : "?") + "after=" + encodeURIComponent(newest);
  fetch(url, { headers: { "HX-Request": "true" }, credentials: "same-origin" }).then(function (response) {
    if (response.status !== 200) return null;
    return response.text();
  }).then(function (html) {
    if (!html) return;
    const fresh = tilesOf(html).filter(function (node) { return !document.getElementById(node.id); });
    if (!fresh.length) return;
    const empty = document.getElementById("empty");
    if (empty) empty.remove();
    const first = list.querySelector("li.tile:not(.uploading)");
    fresh.forEach(function (tile) {
      if (first) list.insertBefore(tile, first); else list.appendChild(tile);
      htmx.process(tile);
      remember(tile);
    });
    grid.dataset.newest = fresh[0].dataset.id > newest ? fresh[0].dataset.id : newest;
    announce(fresh.length + (fresh.length === 1 ? " new file" : " new files") + " arrived");
    updateSelection();
    refreshCounts();
  }).catch(function () { /* offline for a moment: the next poll tries again */ }).then(function () {
    polling = false;
  });
}

export function startLiveUpdates() {
  document.querySelectorAll(".tile").forEach(remember);
  if (document.getElementById("grid")) {
    window.setInterval(pollNewer, POLL_MS);
    window.setInterval(refreshProcessing, TILES_MS);
  }
}

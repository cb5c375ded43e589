// Selection: a checkbox per tile (on hover and focus, always on touch), Shift-click ranges, the page, all matching.
import { fetchCounts } from "./dom.js";

let lastPicked = null;

function boxes() {
  return Array.prototype.slice.call(document.querySelectorAll("#tiles .select-box"));
}

export function updateSelection() {
  const bar = document.getElementById("bulk");
  if (!bar) return;
  const all = boxes();
  const picked = all.filter(function (box) { return box.checked; }).length;
  const matching = document.getElementById("select-matching");
  const grid = document.getElementById("grid");
  const total = grid ? parseInt(grid.dataset.matching || "0", 10) : 0;
  const count = matching && matching.checked ? total : picked;
  const label = document.getElementById("matching-count");
  if (label && grid) label.textContent = total.toLocaleString("en");
  const about = document.getElementById("matching-about");
  if (about && grid && grid.dataset.estimated !== "true") about.textContent = "";
  else if (about && grid && !about.textContent) about.textContent = "about ";
  const text = count ? count.toLocaleString("en") + (count === 1 ? " file selected" : " files selected")
                     : "Tick files, then choose an action.";
  const status = document.getElementById("selected-count");
  if (status && status.textContent !== text) status.textContent = text;
  bar.classList.toggle("active", count > 0);
  bar.querySelectorAll(".bulk-actions button").forEach(function (button) { button.disabled = count === 0; });
  // The number an editor confirms is the number acted on: "all that match" sends it, and the server refuses a
  // different one (files arrived or went meanwhile).
  const expected = document.getElementById("bulk-expected");
  if (expected) expected.value = matching && matching.checked ? String(total) : "";
  const remove = bar.querySelector('button[value="delete"]');
  if (remove && remove.dataset.asks === undefined) remove.dataset.asks = remove.getAttribute("hx-confirm") ? "1" : "";
  if (remove && count && remove.dataset.asks) {  // the server asks only while the trash is off
    remove.setAttribute("hx-confirm", "Delete " + count.toLocaleString("en") + (count === 1 ? " file" : " files") +
                                      "? This cannot be undone.");
  }
  const page = document.getElementById("select-page");
  if (page) {
    page.checked = all.length > 0 && picked === all.length;
    page.indeterminate = picked > 0 && picked < all.length;
  }
  document.querySelectorAll("#tiles li.tile").forEach(function (tile) {
    const box = tile.querySelector(".select-box");
    tile.classList.toggle("selected", !!(box && box.checked));
  });
}

document.addEventListener("click", function (event) {
  const box = event.target.closest && event.target.closest(".select-box");
  if (!box) return;
  const all = boxes();
  if (event.shiftKey && lastPicked && lastPicked.isConnected) {
    const from = all.indexOf(lastPicked);
    const to = all.indexOf(box);
    if (from >= 0 && to >= 0) {
      all.slice(Math.min(from, to), Math.max(from, to) + 1).forEach(function (other) { other.checked = box.checked; });
    }
  }
  lastPicked = box;
  const matching = document.getElementById("select-matching");
  if (matching && !box.checked) matching.checked = false;
  updateSelection();
});

document.addEventListener("change", function (event) {
  const target = event.target;
  if (target.id === "select-page") {
    boxes().forEach(function (box) { box.checked = target.checked; });
    const matching = document.getElementById("select-matching");
    if (matching && !target.checked) matching.checked = false;
    updateSelection();
  } else if (target.id === "select-matching") {
    if (target.checked) boxes().forEach(function (box) { box.checked = true; });
    updateSelection();
    if (target.checked) countExactly();
  }
});

document.addEventListener("htmx:afterSwap", function (event) {
  const target = event.detail.target;
  if (target && (target.id === "grid" || target.id === "more")) {
    const matching = document.getElementById("select-matching");
    if (matching && target.id === "grid") matching.checked = false;
    if (matching && matching.checked) boxes().forEach(function (box) { box.checked = true; });
  }
  updateSelection();
});

// A large view's total is the database's estimate ("about 20,000"); the number an editor confirms must be exact, so
// ticking "all that match" asks the server to count the view (up to one more than a selection may hold) and holds
// the actions until it answers.
function countExactly() {
  const grid = document.getElementById("grid");
  const bar = document.getElementById("bulk");
  if (!grid || !bar || grid.dataset.estimated !== "true" || !grid.dataset.countsUrl) return;
  const buttons = bar.querySelectorAll(".bulk-actions button");
  buttons.forEach(function (button) { button.disabled = true; });
  const url = grid.dataset.countsUrl + (grid.dataset.countsUrl.indexOf("?") >= 0 ? "&" : "?") + "exact=true";
  fetchCounts(url).then(function (fresh) {
    if (!fresh || document.getElementById("grid") !== grid) return;
    grid.dataset.matching = fresh.dataset.matching;
    grid.dataset.estimated = "";
  }).catch(function () { /* the estimate stays; the server refuses a number that is not the view's */ }).then(function () {
    updateSelection();
  });
}

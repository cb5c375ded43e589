// The gallery's own behaviour, one module per concern; this one starts them and handles htmx's errors.
import "./dialog.js";
import "./crops.js";
import "./focal.js";
import "./organise.js";
import { reasonFrom, showError } from "./dom.js";
import { startGrid } from "./grid.js";
import { noteState, startLiveUpdates } from "./live.js";
import { updateSelection } from "./selection.js";
import { setUpDropzone } from "./upload.js";

// Times in the viewer's own time zone.
function localTimes(root) {
  (root || document).querySelectorAll("time[data-local]").forEach(function (node) {
    const when = new Date(node.getAttribute("datetime"));
    if (!isNaN(when.getTime())) {
      node.textContent = when.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
      node.title = node.getAttribute("datetime");
    }
  });
}

document.addEventListener("htmx:load", function (event) {
  const node = event.detail.elt;
  if (node && node.classList && node.classList.contains("tile")) noteState(node);
  setUpDropzone();
  localTimes(node);
});

document.addEventListener("htmx:responseError", function (event) {
  showError(reasonFrom(event.detail.xhr));
});

document.addEventListener("htmx:sendError", function () {
  showError("The server could not be reached. Check your connection and try again.");
});

// The search form's URL leaves out what is the default (`?q=&status=all&sort=newest` is just the page).
document.addEventListener("htmx:configRequest", function (event) {
  const form = event.detail.elt;
  if (!form.matches || !form.matches("form.find")) return;
  form.querySelectorAll("[data-default]").forEach(function (field) {
    if (field.value.trim() === field.dataset.default) delete event.detail.parameters[field.name];
  });
});

function start() {
  setUpDropzone();
  document.documentElement.classList.add("js");
  startLiveUpdates();
  startGrid();
  localTimes(document);
  updateSelection();
}

// A module runs after the document is parsed, before DOMContentLoaded; either way the page is there.
if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start); else start();

// Collections: drag tiles onto a collection in the sidebar (a selected tile brings the whole selection of the page),
// announce what the sidebar's forms did. The drop posts the ids to the collection with the page's CSRF token.
import { announce, csrfToken, showError } from "./dom.js";

const KIND = "application/x-aeontel-ids";

function draggedIds(tile) {
  const box = tile.querySelector(".select-box");
  if (box && box.checked) {
    return Array.prototype.map.call(document.querySelectorAll("#tiles .select-box:checked"), function (b) {
      return b.value;
    });
  }
  return [tile.dataset.id];
}

function target(event) {
  const node = event.target.closest && event.target.closest("#collections li[data-drop-url]");
  return node && event.dataTransfer && Array.prototype.indexOf.call(event.dataTransfer.types, KIND) >= 0 ? node : null;
}

document.addEventListener("dragstart", function (event) {
  const tile = event.target.closest && event.target.closest("#tiles li.tile.ready");
  if (!tile || !document.querySelector("#collections li[data-drop-url]")) return;
  const ids = draggedIds(tile);
  event.dataTransfer.setData(KIND, JSON.stringify(ids));
  event.dataTransfer.setData("text/plain", ids.join("\n"));
  event.dataTransfer.effectAllowed = "copy";
  document.body.classList.add("dragging-tiles");
});

document.addEventListener("dragend", function () {
  document.body.classList.remove("dragging-tiles");
  document.querySelectorAll("#collections li.drop-over").forEach(function (li) { li.classList.remove("drop-over"); });
});

document.addEventListener("dragover", function (event) {
  const li = target(event);
  if (!li) return;
  event.preventDefault();
  event.dataTransfer.dropEffect = "copy";
  li.classList.add("drop-over");
});

document.addEventListener("dragleave", function (event) {
  const li = target(event);
  if (li && !li.contains(event.relatedTarget)) li.classList.remove("drop-over");
});

document.addEventListener("drop", function (event) {
  const li = target(event);
  if (!li) return;
  event.preventDefault();
  li.classList.remove("drop-over");
  const ids = JSON.parse(event.dataTransfer.getData(KIND) || "[]");
  const body = new URLSearchParams();
  ids.forEach(function (id) { body.append("ids", id); });
  fetch(li.dataset.dropUrl, {
    method: "POST",
    body: body,
    credentials: "same-origin",
    headers: { "X-CSRFToken": csrfToken(), "HX-Request": "true" },
  }).then(function (response) {
    return response.text().then(function (text) {
      const holder = document.createElement("div");
      holder.innerHTML = text;
      if (!response.ok) {
        const reason = holder.querySelector(".error");
        showError("Could not add to " + li.dataset.name + ": " + (reason ? reason.textContent : "the server answered " +
                  response.status + "."));
        return;
      }
      const fresh = holder.querySelector("#collections");
      const old = document.getElementById("collections");
      if (fresh && old) {
        old.replaceWith(fresh);
        if (window.htmx) window.htmx.process(fresh);
      }
      const trigger = JSON.parse(response.headers.get("HX-Trigger") || "{}");
      announce((trigger.organised && trigger.organised.message) || "Added.");
    });
  }).catch(function () {
    showError("The server could not be reached. Check your connection and try again.");
  });
});

document.addEventListener("organised", function (event) {
  announce((event.detail && event.detail.message) || "Done");
});

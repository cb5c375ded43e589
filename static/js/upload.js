// Uploads: the drop zone (the whole window while files are dragged), paste, the picker; three at a time with
// progress, each a tile that becomes the server's tile, or says why it failed.
import { announce, csrfToken, el, reasonFrom, tilesOf } from "./dom.js";
import { focusTile, neighbour } from "./focus.js";
import { noteState, refreshCounts } from "./live.js";
import { resumable, sendResumable, showUnfinished } from "./resumable.js";
import { binarySize } from "./units.js";

const CONCURRENCY = 3;
const queue = [];
let active = 0;
let counter = 0;

function tooLarge(size, limit) {
  let have = binarySize(size);
  let may = binarySize(limit);
  if (have === may) {
    have = size.toLocaleString("en") + " bytes";
    may = limit.toLocaleString("en") + " bytes";
  }
  return "the file is " + have + "; the limit is " + may + ".";
}

// Camera RAW files look like images but no image can be made of them here: refused before a long upload.
const RAW = /\.(cr2|cr3|nef|nrw|arw|srf|sr2|raf|orf|rw2|pef|srw|x3f|3fr|iiq|rwl|erf|mef|mos|kdc|dcr)$/i;

function refusedType(name) {
  if (RAW.test(name || "")) {
    return "camera RAW files cannot be made into images; export a JPEG, PNG or TIFF from your photo app and upload that.";
  }
  return null;
}

function tilesList() {
  const empty = document.getElementById("empty");
  if (empty) empty.remove();
  return document.getElementById("tiles");
}

function uploadTile(file) {
  counter += 1;
  const li = el("li", "tile uploading");
  li.id = "upload-" + counter;
  li.dataset.name = file.name;
  li.dataset.state = "uploading";
  const box = el("div", "box");
  const bar = el("progress", "bar");
  bar.max = 100;
  bar.value = 0;
  bar.setAttribute("aria-label", "Upload progress of " + file.name);
  box.appendChild(bar);
  li.appendChild(box);
  li.appendChild(el("span", "name", file.name));
  li.appendChild(el("p", "status", "Waiting to upload…"));
  const actions = el("div", "actions");
  const cancel = el("button", "cancel", "Cancel");
  cancel.type = "button";
  cancel.setAttribute("aria-label", "Cancel the upload of " + file.name);
  actions.appendChild(cancel);
  li.appendChild(actions);
  tilesList().prepend(li);
  return li;
}

function cancelUpload(li) {
  const item = li.__upload;
  if (!item) return;
  const waiting = queue.indexOf(item);
  if (waiting >= 0) queue.splice(waiting, 1);
  item.cancelled = true;
  if (item.xhr) item.xhr.abort();  // the server sees the connection end and discards the partial spool
  if (item.upload) {
    item.upload.abort(true);  // tus termination: the server removes what it had
    done();
  }
  const next = neighbour(li);
  li.remove();
  announce("Cancelled the upload of " + item.file.name);
  focusTile(next);
}

function failTile(li, file, reason, canRetry) {
  li.className = "tile failed";
  li.dataset.state = "failed";
  li.querySelector(".box").textContent = "!";
  li.querySelector(".status").textContent = "Failed: " + reason;
  const actions = li.querySelector(".actions");
  actions.innerHTML = "";
  if (canRetry) {
    const retry = el("button", "retry", "Retry");
    retry.type = "button";
    retry.addEventListener("click", function () {
      li.remove();
      enqueue([file]);
    });
    actions.appendChild(retry);
  }
  const remove = el("button", "delete", "Remove");
  remove.type = "button";
  remove.setAttribute("aria-label", "Remove " + file.name);
  remove.addEventListener("click", function () {
    li.remove();
    const zone = document.getElementById("picker");
    if (zone) zone.focus();
  });
  actions.appendChild(remove);
  announce(file.name + " failed: " + reason);
}

function arrived(li, item, xhr) {
  const tiles = tilesOf(xhr.responseText);
  if (!tiles.length) {
    failTile(li, item.file, "the server's answer was not understood.", true);
    return;
  }
  tiles.forEach(function (tile) {
    const seen = document.getElementById(tile.id);  // the poll for new files may have shown it already
    if (seen && seen !== li) seen.remove();
  });
  li.replaceWith.apply(li, tiles);
  tiles.forEach(function (tile) { htmx.process(tile); noteState(tile); });
  refreshCounts();
}

// Hash first: the browser hashes the file (Web Crypto) and asks the API whether the library has these bytes, so a
// known file is never sent. Any failure to ask (no Web Crypto outside a secure context, a network error) uploads
// as before; the server answers a duplicate then.
async function knownFile(zone, file) {
  if (!zone.dataset.knownUrl || !(window.crypto && window.crypto.subtle)) return null;
  const digest = await window.crypto.subtle.digest("SHA-256", await file.arrayBuffer());
  const hex = Array.from(new Uint8Array(digest), function (b) { return b.toString(16).padStart(2, "0"); }).join("");
  const response = await fetch(zone.dataset.knownUrl + "&limit=1&sha256=" + hex, {
    credentials: "same-origin", headers: { Accept: "application/json" },
  });
  if (!response.ok) return null;
  const page = await response.json();
  return (page.data && page.data[0]) || null;
}

function detailsUrl(zone, found) {
  return zone.dataset.detailsUrl.replace("__PROJECT__", found.projectId).replace("__FILE__", found.id);
}

// "Already in the library as X — use it / keep both".
function askDuplicate(li, item, found) {
  const zone = document.getElementById("dropzone");
  li.className = "tile duplicate";
  li.dataset.state = "duplicate";
  li.dataset.duplicateOf = found.id;
  li.querySelector(".box").textContent = "=";
  const status = li.querySelector(".status");
  status.textContent = "Already in the library as ";
  const link = el("a", "existing", found.name);
  link.href = detailsUrl(zone, found);
  status.appendChild(link);
  const actions = li.querySelector(".actions");
  actions.innerHTML = "";
  const use = el("button", "use-existing", "Use it");
  use.type = "button";
  use.setAttribute("aria-label", "Use it: " + found.name + ", already in the library, instead of " + item.file.name);
  use.addEventListener("click", function () {
    const existing = document.getElementById("tile-" + found.id);
    if (existing) {
      li.remove();
      focusTile(existing);
    } else {
      window.location.assign(link.href);
    }
    announce("Using " + found.name + " from the library");
  });
  const both = el("button", "keep-both", "Keep both");
  both.type = "button";
  both.setAttribute("aria-label", "Keep both: upload " + item.file.name + " as a new file all the same");
  both.addEventListener("click", function () {
    item.allowDuplicate = true;
    li.className = "tile uploading";
    li.dataset.state = "uploading";
    li.querySelector(".box").innerHTML = "";
    const bar = el("progress", "bar");
    bar.max = 100;
    bar.value = 0;
    li.querySelector(".box").appendChild(bar);
    status.textContent = "Waiting to upload…";
    actions.innerHTML = "";
    const cancel = el("button", "cancel", "Cancel");
    cancel.type = "button";
    actions.appendChild(cancel);
    queue.push(item);
    pump();
  });
  actions.appendChild(use);
  actions.appendChild(both);
  announce(item.file.name + " is already in the library as " + found.name);
  use.focus();
}

// A resumable upload's file, shown as the server's tile (the gallery's own fragment for that file).
function finishResumable(zone, li, item, fileUrl) {
  done();
  if (!fileUrl) {
    failTile(li, item.file, "the server's answer was not understood.", true);
    return;
  }
  const tileUrl = zone.dataset.uploadUrl + "/" + encodeURIComponent(fileUrl.split("/").pop());
  fetch(tileUrl, { headers: { "HX-Request": "true" }, credentials: "same-origin" })
    .then(function (response) { return response.text(); })
    .then(function (html) { arrived(li, item, { responseText: html }); })
    .catch(function () { failTile(li, item.file, "the stored file could not be shown; reload the page.", false); });
}

function send(item) {
  const zone = document.getElementById("dropzone");
  if (item.allowDuplicate || item.checked) {
    upload(item, zone);
    return;
  }
  item.checked = true;
  item.tile.querySelector(".status").textContent = "Checking the library…";
  knownFile(zone, item.file).then(function (found) {
    if (item.cancelled) return done();
    if (!found) return upload(item, zone);
    done();
    askDuplicate(item.tile, item, found);
  }, function () {
    if (item.cancelled) return done();
    upload(item, zone);
  });
}

function upload(item, zone) {
  if (resumable(zone, item.file)) {
    sendResumable(zone, item, {
      finished: function (fileUrl) { finishResumable(zone, item.tile, item, fileUrl); },
      failed: function (reason, canRetry) { done(); failTile(item.tile, item.file, reason, canRetry); },
    });
    return;
  }
  const li = item.tile;
  const status = li.querySelector(".status");
  const bar = li.querySelector("progress");
  const form = new FormData();
  form.append("file", item.file, item.file.name);
  form.append("duplicates", item.allowDuplicate ? "allow" : "reuse");
  const xhr = new XMLHttpRequest();
  item.xhr = xhr;
  xhr.open("POST", zone.dataset.uploadUrl);
  xhr.setRequestHeader("X-CSRFToken", csrfToken());
  xhr.setRequestHeader("HX-Request", "true");
  status.textContent = "Uploading… 0%";
  xhr.upload.addEventListener("progress", function (event) {
    if (!event.lengthComputable) return;
    const percent = Math.round((event.loaded / event.total) * 100);
    bar.value = percent;
    status.textContent = "Uploading… " + percent + "%";
  });
  xhr.addEventListener("load", function () {
    done();
    if (xhr.status >= 200 && xhr.status < 300) {
      arrived(li, item, xhr);
    } else {
      failTile(li, item.file, reasonFrom(xhr), xhr.status >= 500);
    }
  });
  xhr.addEventListener("abort", function () { done(); });
  xhr.addEventListener("error", function () {
    done();
    failTile(li, item.file, "the upload did not reach the server.", true);
  });
  xhr.send(form);
}

function done() {
  active -= 1;
  pump();
}

function pump() {
  while (active < CONCURRENCY && queue.length) {
    active += 1;
    send(queue.shift());
  }
}

function enqueue(fileList) {
  const zone = document.getElementById("dropzone");
  if (!zone) return;
  const limit = parseInt(zone.dataset.maxBytes, 10);
  const files = Array.prototype.slice.call(fileList);
  files.forEach(function (file) {
    const li = uploadTile(file);
    if (file.size > limit) {
      failTile(li, file, tooLarge(file.size, limit), false);
      return;
    }
    if (file.size === 0) {
      failTile(li, file, "the file is empty.", false);
      return;
    }
    const refused = refusedType(file.name);
    if (refused) {
      failTile(li, file, refused, false);
      return;
    }
    const item = { file: file, tile: li };
    li.__upload = item;
    queue.push(item);
  });
  if (files.length) announce("Uploading " + files.length + (files.length === 1 ? " file" : " files"));
  pump();
}

function hasFiles(event) {
  const types = event.dataTransfer && event.dataTransfer.types;
  return types && Array.prototype.indexOf.call(types, "Files") >= 0;
}

// One file dropped onto an image's tile replaces that image's bytes (a new version under the same id and URLs);
// the tile is fetched again once the version is no longer being processed.
function replaceOnTile(tile, file) {
  const name = tile.dataset.name;
  const body = new FormData();
  body.append("file", file, file.name);
  tile.classList.add("replacing");
  announce(`Replacing ${name} with ${file.name}…`);
  fetch(tile.dataset.replaceUrl, {
    method: "POST", body, credentials: "same-origin",
    headers: { "X-CSRFToken": csrfToken(), "HX-Request": "true" },
  }).then(function (response) {
    return response.text().then(function (html) {
      if (!response.ok) {
        tile.classList.remove("replacing");
        announce(`${name} was not replaced: ${reasonFrom({ responseText: html, status: response.status })}`);
        return;
      }
      announce(`${name}: the new version is being processed; the current one shows until it is ready.`);
      watchReplace(tile);
    });
  }, function () {
    tile.classList.remove("replacing");
    announce(`${name} was not replaced: the connection failed.`);
  });
}

function watchReplace(tile) {
  fetch(tile.dataset.versionsUrl, { credentials: "same-origin", headers: { "HX-Request": "true" } })
    .then(function (response) { return response.text(); })
    .then(function (html) {
      const holder = document.createElement("div");
      holder.innerHTML = html;
      const newest = holder.querySelector("tbody tr");
      if (newest && newest.dataset.state === "pending") {
        setTimeout(function () { watchReplace(tile); }, 1000);
        return;
      }
      const error = newest && newest.dataset.state === "failed" ? newest.querySelector(".error") : null;
      announce(error ? `${tile.dataset.name} was not replaced: ${error.textContent}`
        : `${tile.dataset.name} now shows its new version.`);
      htmx.ajax("GET", tile.dataset.tileUrl, { target: tile, swap: "outerHTML" });
    });
}

// The whole window is the drop target while files are dragged over it.
function listenForDrops(zone) {
  let depth = 0;
  function over(on) {
    zone.classList.toggle("over", on);
    document.body.classList.toggle("dragging", on);
  }
  document.addEventListener("dragenter", function (event) {
    if (!hasFiles(event)) return;
    event.preventDefault();
    depth += 1;
    over(true);
  });
  document.addEventListener("dragover", function (event) {
    if (!hasFiles(event)) return;
    event.preventDefault();
    over(true);
  });
  document.addEventListener("dragleave", function (event) {
    if (!hasFiles(event)) return;
    depth = Math.max(0, depth - 1);
    if (depth === 0) over(false);
  });
  document.addEventListener("drop", function (event) {
    if (!hasFiles(event)) return;
    event.preventDefault();
    depth = 0;
    over(false);
    const tile = event.target.closest && event.target.closest("li.tile[data-replace-url]");
    if (tile && event.dataTransfer.files.length === 1) replaceOnTile(tile, event.dataTransfer.files[0]);
    else if (event.dataTransfer.files.length) enqueue(event.dataTransfer.files);
  });
}

export function setUpDropzone() {
  const zone = document.getElementById("dropzone");
  if (!zone || zone.dataset.ready) return;
  zone.dataset.ready = "1";
  zone.classList.add("js");
  const picker = document.getElementById("picker");
  picker.addEventListener("change", function () {
    enqueue(picker.files);
    picker.value = "";
  });
  listenForDrops(zone);
  showUnfinished(zone);
  zone.addEventListener("submit", function (event) {
    event.preventDefault();
    enqueue(picker.files);
    picker.value = "";
  });
  document.addEventListener("paste", function (event) {
    const files = event.clipboardData && event.clipboardData.files;
    if (files && files.length) {
      event.preventDefault();
      enqueue(files);
    }
  });
}

document.addEventListener("click", function (event) {
  const cancel = event.target.closest && event.target.closest("li.uploading .cancel");
  if (cancel) cancelUpload(cancel.closest("li"));
});

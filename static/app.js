// The gallery's own behaviour: uploads with progress, the details dialog, copy buttons, announcements.
(function () {
  "use strict";

  var CONCURRENCY = 3;
  var queue = [];
  var active = 0;
  var counter = 0;
  var lastState = {};

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  function announce(text) {
    var region = document.getElementById("announcer");
    if (!region) return;
    region.textContent = "";
    window.setTimeout(function () { region.textContent = text; }, 50);
  }

  function showError(text) {
    var flash = document.getElementById("flash");
    if (!flash) return;
    flash.innerHTML = "";
    var p = document.createElement("p");
    p.className = "error";
    p.textContent = text;
    flash.appendChild(p);
  }

  function megabytes(bytes) {
    return (bytes / 1000000).toFixed(1) + " MB";
  }

  function tooLarge(size, limit) {
    var have = megabytes(size);
    var may = megabytes(limit);
    if (have === may) {
      have = size.toLocaleString("en") + " bytes";
      may = limit.toLocaleString("en") + " bytes";
    }
    return "the file is " + have + "; the limit is " + may + ".";
  }

  // Camera RAW files look like images but no image can be made of them here: refused before a long upload.
  var RAW = /\.(cr2|cr3|nef|nrw|arw|srf|sr2|raf|orf|rw2|pef|srw|x3f|3fr|iiq|rwl|erf|mef|mos|kdc|dcr)$/i;

  function refusedType(name) {
    if (RAW.test(name || "")) {
      return "camera RAW files cannot be made into images; export a JPEG, PNG or TIFF from your photo app and upload that.";
    }
    return null;
  }

  function tilesList() {
    var empty = document.getElementById("empty");
    if (empty) empty.remove();
    return document.getElementById("tiles");
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function uploadTile(file) {
    counter += 1;
    var li = el("li", "tile uploading");
    li.id = "upload-" + counter;
    li.dataset.name = file.name;
    li.dataset.state = "uploading";
    var box = el("div", "box");
    var bar = el("progress", "bar");
    bar.max = 100;
    bar.value = 0;
    bar.setAttribute("aria-label", "Upload progress of " + file.name);
    box.appendChild(bar);
    li.appendChild(box);
    li.appendChild(el("span", "name", file.name));
    li.appendChild(el("p", "status", "Waiting to upload…"));
    var actions = el("div", "actions");
    var cancel = el("button", "cancel", "Cancel");
    cancel.type = "button";
    cancel.setAttribute("aria-label", "Cancel the upload of " + file.name);
    actions.appendChild(cancel);
    li.appendChild(actions);
    tilesList().prepend(li);
    return li;
  }

  function cancelUpload(li) {
    var item = li.__upload;
    if (!item) return;
    var waiting = queue.indexOf(item);
    if (waiting >= 0) queue.splice(waiting, 1);
    item.cancelled = true;
    if (item.xhr) item.xhr.abort();  // the server sees the connection end and discards the partial spool
    var next = neighbour(li);
    li.remove();
    announce("Cancelled the upload of " + item.file.name);
    focusTile(next);
  }

  function failTile(li, file, reason, canRetry) {
    li.className = "tile failed";
    li.dataset.state = "failed";
    li.querySelector(".box").textContent = "!";
    li.querySelector(".status").textContent = "Failed: " + reason;
    var actions = li.querySelector(".actions");
    actions.innerHTML = "";
    if (canRetry) {
      var retry = el("button", "retry", "Retry");
      retry.type = "button";
      retry.addEventListener("click", function () {
        li.remove();
        enqueue([file]);
      });
      actions.appendChild(retry);
    }
    var remove = el("button", "delete", "Remove");
    remove.type = "button";
    remove.setAttribute("aria-label", "Remove " + file.name);
    remove.addEventListener("click", function () {
      li.remove();
      var zone = document.getElementById("picker");
      if (zone) zone.focus();
    });
    actions.appendChild(remove);
    announce(file.name + " failed: " + reason);
  }

  function reasonFrom(xhr) {
    var holder = document.createElement("div");
    holder.innerHTML = xhr.responseText || "";
    var message = holder.querySelector(".error");
    var text = (message ? message.textContent : holder.textContent).trim();
    return text || "the server answered " + xhr.status + ".";
  }

  function send(item) {
    var zone = document.getElementById("dropzone");
    var li = item.tile;
    var status = li.querySelector(".status");
    var bar = li.querySelector("progress");
    var form = new FormData();
    form.append("file", item.file, item.file.name);
    var xhr = new XMLHttpRequest();
    item.xhr = xhr;
    xhr.open("POST", zone.dataset.uploadUrl);
    xhr.setRequestHeader("X-CSRFToken", csrfToken());
    xhr.setRequestHeader("HX-Request", "true");
    status.textContent = "Uploading… 0%";
    xhr.upload.addEventListener("progress", function (event) {
      if (!event.lengthComputable) return;
      var percent = Math.round((event.loaded / event.total) * 100);
      bar.value = percent;
      status.textContent = "Uploading… " + percent + "%";
    });
    xhr.addEventListener("load", function () {
      done();
      if (xhr.status >= 200 && xhr.status < 300) {
        var template = document.createElement("template");
        template.innerHTML = xhr.responseText.trim();
        var tiles = Array.prototype.filter.call(template.content.children, function (node) {
          return node.classList.contains("tile");
        });
        if (!tiles.length) {
          failTile(li, item.file, "the server's answer was not understood.", true);
          return;
        }
        tiles.forEach(function (tile) {
          var seen = document.getElementById(tile.id);  // the poll for new files may have shown it already
          if (seen && seen !== li) seen.remove();
        });
        li.replaceWith.apply(li, tiles);
        tiles.forEach(function (tile) { htmx.process(tile); noteState(tile); });
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
    var zone = document.getElementById("dropzone");
    if (!zone) return;
    var limit = parseInt(zone.dataset.maxBytes, 10);
    var files = Array.prototype.slice.call(fileList);
    files.forEach(function (file) {
      var li = uploadTile(file);
      if (file.size > limit) {
        failTile(li, file, tooLarge(file.size, limit), false);
        return;
      }
      if (file.size === 0) {
        failTile(li, file, "the file is empty.", false);
        return;
      }
      var refused = refusedType(file.name);
      if (refused) {
        failTile(li, file, refused, false);
        return;
      }
      var item = { file: file, tile: li };
      li.__upload = item;
      queue.push(item);
    });
    if (files.length) announce("Uploading " + files.length + (files.length === 1 ? " file" : " files"));
    pump();
  }

  function noteState(tile) {
    if (!tile || !tile.id || tile.id.indexOf("tile-") !== 0) return;
    var state = tile.dataset.state;
    if (lastState[tile.id] === state) return;
    lastState[tile.id] = state;
    var name = tile.dataset.name;
    var words = { processing: " uploaded, processing", ready: " is ready", failed: " failed", file: " uploaded (not an image)" };
    if (words[state]) announce(name + words[state]);
  }

  function setUpDropzone() {
    var zone = document.getElementById("dropzone");
    if (!zone || zone.dataset.ready) return;
    zone.dataset.ready = "1";
    zone.classList.add("js");
    var picker = document.getElementById("picker");
    picker.addEventListener("change", function () {
      enqueue(picker.files);
      picker.value = "";
    });
    // The whole window is the drop target while files are dragged over it.
    var depth = 0;
    function hasFiles(event) {
      var types = event.dataTransfer && event.dataTransfer.types;
      return types && Array.prototype.indexOf.call(types, "Files") >= 0;
    }
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
      if (event.dataTransfer.files.length) enqueue(event.dataTransfer.files);
    });
    zone.addEventListener("submit", function (event) {
      event.preventDefault();
      enqueue(picker.files);
      picker.value = "";
    });
    document.addEventListener("paste", function (event) {
      var files = event.clipboardData && event.clipboardData.files;
      if (files && files.length) {
        event.preventDefault();
        enqueue(files);
      }
    });
  }

  function dialog() {
    return document.getElementById("details-dialog");
  }

  function copy(text, button) {
    function ok() {
      var old = button.textContent;
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

  function fallbackCopy(text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    var worked = false;
    try { worked = document.execCommand("copy"); } catch (e) { worked = false; }
    area.remove();
    return worked;
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (button) copy(button.dataset.copy, button);
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.dataset && form.dataset.confirm && !window.confirm(form.dataset.confirm)) event.preventDefault();
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    if (target && target.id === "dialog-body" && dialog()) {
      if (!dialog().open) dialog().showModal();
      var title = document.getElementById("details-title");
      if (title) title.focus();
    }
  });

  document.addEventListener("htmx:load", function (event) {
    var node = event.detail.elt;
    if (node && node.classList && node.classList.contains("tile")) noteState(node);
    setUpDropzone();
    localTimes(node);
  });

  document.addEventListener("file-deleted", function (event) {
    var detail = event.detail || {};
    var d = dialog();
    if (d && d.open) d.close();
    var body = document.getElementById("dialog-body");
    if (body) body.innerHTML = "";
    announce("Deleted " + (detail.name || "the file"));
    delete lastState["tile-" + detail.id];
    var tile = document.getElementById("tile-" + detail.id);
    if (tile) focusWhenGone(tile, neighbour(tile));
  });

  document.addEventListener("file-retried", function (event) {
    var detail = event.detail || {};
    var tile = document.getElementById("tile-" + detail.id);
    announce((detail.name || "The file") + " is queued again");
    if (tile) focusWhenGone(tile, neighbour(tile));
  });

  document.addEventListener("bulk-done", function (event) {
    var detail = event.detail || {};
    announce(detail.message || "Done");
    var grid = document.getElementById("grid");
    if (grid) focusWhenGone(grid, null);  // the new grid replaces this one; then its first tile (or empty state)
  });

  // Focus after Delete, Retry or Restore: the next tile (or the one before), else the empty state; never the body.
  function neighbour(tile) {
    var next = tile.nextElementSibling;
    while (next && !next.classList.contains("tile")) next = next.nextElementSibling;
    if (next) return next;
    var prev = tile.previousElementSibling;
    while (prev && !prev.classList.contains("tile")) prev = prev.previousElementSibling;
    return prev;
  }

  function focusTile(tile) {
    if (tile && tile.isConnected) {
      var target = tile.querySelector("a.thumb") || tile.querySelector(".select-box") || tile;
      target.focus();
      return;
    }
    var list = document.getElementById("tiles");
    if (!list) return;
    var empty = document.getElementById("empty");
    if (!empty) {
      empty = el("li", "empty", "Nothing here any more.");
      empty.id = "empty";
      empty.tabIndex = -1;
      var more = document.getElementById("more");
      if (more) list.insertBefore(empty, more); else list.appendChild(empty);
    }
    empty.focus();
  }

  function focusWhenGone(tile, next) {
    var tries = 0;
    (function check() {
      // htmx swaps the tile out (or in again, for a retry) right after this event; focus follows the swap.
      if (tile.isConnected && tries < 200) { tries += 1; window.setTimeout(check, 10); return; }
      var list = document.getElementById("tiles");
      focusTile(next && next.isConnected ? next : list && list.querySelector("li.tile"));
    })();
  }

  // Selection: a checkbox per tile (on hover and focus, always on touch), Shift-click ranges, the page, all matching.
  var lastPicked = null;

  function boxes() {
    return Array.prototype.slice.call(document.querySelectorAll("#tiles .select-box"));
  }

  function updateSelection() {
    var bar = document.getElementById("bulk");
    if (!bar) return;
    var all = boxes();
    var picked = all.filter(function (box) { return box.checked; }).length;
    var matching = document.getElementById("select-matching");
    var grid = document.getElementById("grid");
    var total = grid ? parseInt(grid.dataset.matching || "0", 10) : 0;
    var count = matching && matching.checked ? total : picked;
    var label = document.getElementById("matching-count");
    if (label && grid) label.textContent = total.toLocaleString("en");
    var text = count ? count.toLocaleString("en") + (count === 1 ? " file selected" : " files selected")
                     : "Tick files, then choose an action.";
    var status = document.getElementById("selected-count");
    if (status && status.textContent !== text) status.textContent = text;
    bar.classList.toggle("active", count > 0);
    bar.querySelectorAll(".bulk-actions button").forEach(function (button) { button.disabled = count === 0; });
    var remove = bar.querySelector('button[value="delete"]');
    if (remove && count) {
      remove.setAttribute("hx-confirm", "Delete " + count.toLocaleString("en") + (count === 1 ? " file" : " files") +
                                        "? This cannot be undone.");
    }
    var page = document.getElementById("select-page");
    if (page) {
      page.checked = all.length > 0 && picked === all.length;
      page.indeterminate = picked > 0 && picked < all.length;
    }
    document.querySelectorAll("#tiles li.tile").forEach(function (tile) {
      var box = tile.querySelector(".select-box");
      tile.classList.toggle("selected", !!(box && box.checked));
    });
  }

  document.addEventListener("click", function (event) {
    var box = event.target.closest && event.target.closest(".select-box");
    if (!box) return;
    var all = boxes();
    if (event.shiftKey && lastPicked && lastPicked.isConnected) {
      var from = all.indexOf(lastPicked);
      var to = all.indexOf(box);
      if (from >= 0 && to >= 0) {
        all.slice(Math.min(from, to), Math.max(from, to) + 1).forEach(function (other) { other.checked = box.checked; });
      }
    }
    lastPicked = box;
    var matching = document.getElementById("select-matching");
    if (matching && !box.checked) matching.checked = false;
    updateSelection();
  });

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.id === "select-page") {
      boxes().forEach(function (box) { box.checked = target.checked; });
      var matching = document.getElementById("select-matching");
      if (matching && !target.checked) matching.checked = false;
      updateSelection();
    } else if (target.id === "select-matching") {
      if (target.checked) boxes().forEach(function (box) { box.checked = true; });
      updateSelection();
    }
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    if (target && (target.id === "grid" || target.id === "more")) {
      var matching = document.getElementById("select-matching");
      if (matching && target.id === "grid") matching.checked = false;
      if (matching && matching.checked) boxes().forEach(function (box) { box.checked = true; });
    }
    updateSelection();
  });

  document.addEventListener("click", function (event) {
    var cancel = event.target.closest && event.target.closest("li.uploading .cancel");
    if (cancel) cancelUpload(cancel.closest("li"));
  });

  // The focal point: click or drag on the picture, or the arrow keys on the marker; saved through the form.
  var saveTimer = null;

  function focalParts(figure) {
    var form = document.getElementById(figure.dataset.focalForm);
    return { form: form, marker: figure.querySelector(".focal-marker"), img: figure.querySelector("img") };
  }

  function placeFocal(figure, x, y, save) {
    var parts = focalParts(figure);
    if (!parts.form || !parts.marker) return;
    x = Math.min(1, Math.max(0, Math.round(x * 100) / 100));
    y = Math.min(1, Math.max(0, Math.round(y * 100) / 100));
    figure.dataset.x = x;
    figure.dataset.y = y;
    parts.marker.style.left = (x * 100) + "%";
    parts.marker.style.top = (y * 100) + "%";
    parts.marker.setAttribute("aria-valuenow", Math.round(x * 100));
    parts.marker.setAttribute("aria-valuetext", Math.round(x * 100) + "% across, " + Math.round(y * 100) + "% down");
    parts.form.querySelector('input[name="x"]').value = x;
    parts.form.querySelector('input[name="y"]').value = y;
    if (save) {
      window.clearTimeout(saveTimer);
      saveTimer = window.setTimeout(function () {
        var form = document.getElementById(figure.dataset.focalForm);
        if (form) htmx.trigger(form, "submit");
      }, save === "now" ? 0 : 400);
    }
  }

  function pointAt(figure, event) {
    var rect = focalParts(figure).img.getBoundingClientRect();
    return [(event.clientX - rect.left) / rect.width, (event.clientY - rect.top) / rect.height];
  }

  var dragging = null;
  document.addEventListener("pointerdown", function (event) {
    var figure = event.target.closest && event.target.closest(".focal-area");
    if (!figure || !focalParts(figure).marker || event.button !== 0) return;
    event.preventDefault();
    dragging = figure;
    var p = pointAt(figure, event);
    placeFocal(figure, p[0], p[1], false);
  });
  document.addEventListener("pointermove", function (event) {
    if (!dragging) return;
    var p = pointAt(dragging, event);
    placeFocal(dragging, p[0], p[1], false);
  });
  document.addEventListener("pointerup", function () {
    if (!dragging) return;
    var figure = dragging;
    dragging = null;
    placeFocal(figure, parseFloat(figure.dataset.x), parseFloat(figure.dataset.y), "now");
    var marker = focalParts(figure).marker;
    if (marker) marker.focus();
  });
  document.addEventListener("keydown", function (event) {
    var marker = event.target.closest && event.target.closest(".focal-marker");
    if (!marker) return;
    var step = event.shiftKey ? 0.1 : 0.01;
    var moves = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] };
    var move = moves[event.key];
    var figure = marker.closest(".focal-area");
    if (event.key === "Home") move = [0.5 - parseFloat(figure.dataset.x), 0.5 - parseFloat(figure.dataset.y)];
    if (!move) return;
    event.preventDefault();
    placeFocal(figure, parseFloat(figure.dataset.x) + move[0], parseFloat(figure.dataset.y) + move[1], true);
  });

  // Processing tiles are refreshed together: one request a second for all of them (`…/content/tiles?ids=…`)
  // instead of one per tile (a hundred dropped photos made a hundred requests a second). Each tile's own
  // `hx-trigger="load delay:1s"` stays in the markup for htmx without this script, and is cancelled here.
  var TILES_MS = 1000;
  var refreshing = false;

  document.addEventListener("htmx:beforeRequest", function (event) {
    var elt = event.detail.elt;
    if (elt && elt.classList && elt.classList.contains("tile") && elt.dataset.state === "processing" &&
        event.detail.requestConfig && event.detail.requestConfig.verb === "get" && tilesUrl()) {
      event.preventDefault();
    }
  });

  function tilesUrl() {
    var grid = document.getElementById("grid");
    return grid && grid.dataset.tilesUrl;
  }

  function refreshProcessing() {
    var url = tilesUrl();
    var waiting = Array.prototype.slice.call(document.querySelectorAll('#tiles li.tile[data-state="processing"]'), 0, 100);
    if (!url || !waiting.length || refreshing) return;
    refreshing = true;
    var query = waiting.map(function (tile) { return "ids=" + encodeURIComponent(tile.dataset.id); }).join("&");
    fetch(url + "?" + query, { headers: { "HX-Request": "true" }, credentials: "same-origin" }).then(function (response) {
      return response.status === 200 ? response.text() : null;
    }).then(function (html) {
      if (!html) return;
      var template = document.createElement("template");
      template.innerHTML = html.trim();
      Array.prototype.slice.call(template.content.children).forEach(function (tile) {
        var old = tile.classList.contains("tile") && document.getElementById(tile.id);
        if (!old) return;
        var box = old.querySelector(".select-box");
        var picked = box && box.checked;
        old.replaceWith(tile);
        if (picked && tile.querySelector(".select-box")) tile.querySelector(".select-box").checked = true;
        htmx.process(tile);
        noteState(tile);
      });
      updateSelection();
    }).catch(function () { /* the next round tries again */ }).then(function () {
      refreshing = false;
    });
  }

  // Times in the viewer's own time zone.
  function localTimes(root) {
    (root || document).querySelectorAll("time[data-local]").forEach(function (node) {
      var when = new Date(node.getAttribute("datetime"));
      if (!isNaN(when.getTime())) {
        node.textContent = when.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
        node.title = node.getAttribute("datetime");
      }
    });
  }

  // New files from anywhere (another browser, the API, the CLI) appear within seconds: a light poll for ids newer
  // than the newest tile, answered 204 when there are none.
  var POLL_MS = 5000;
  var polling = false;

  function pollNewer() {
    var grid = document.getElementById("grid");
    var list = document.getElementById("tiles");
    if (!grid || !list || !grid.dataset.newerUrl || polling || document.hidden) return;
    if (!grid.dataset.newest && grid.dataset.newest !== "") return;
    var newest = grid.dataset.newest || "";
    if (document.getElementById("sort") && document.getElementById("sort").value !== "newest") return;
    list.querySelectorAll("li.tile[data-id]").forEach(function (tile) {
      if (tile.dataset.id > newest) newest = tile.dataset.id;
    });
    if (!newest) newest = "fil_0";
    polling = true;
    var url = grid.dataset.newerUrl + (grid.dataset.newerUrl.indexOf("?") >= 0 ? "&" : "?") + "after=" + encodeURIComponent(newest);
    fetch(url, { headers: { "HX-Request": "true" }, credentials: "same-origin" }).then(function (response) {
      if (response.status !== 200) return null;
      return response.text();
    }).then(function (html) {
      if (!html) return;
      var template = document.createElement("template");
      template.innerHTML = html.trim();
      var fresh = Array.prototype.filter.call(template.content.children, function (node) {
        return node.classList.contains("tile") && !document.getElementById(node.id);
      });
      if (!fresh.length) return;
      var empty = document.getElementById("empty");
      if (empty) empty.remove();
      var first = list.querySelector("li.tile:not(.uploading)");
      fresh.forEach(function (tile) {
        if (first) list.insertBefore(tile, first); else list.appendChild(tile);
        htmx.process(tile);
        lastState[tile.id] = tile.dataset.state;
      });
      grid.dataset.newest = fresh[0].dataset.id > newest ? fresh[0].dataset.id : newest;
      announce(fresh.length + (fresh.length === 1 ? " new file" : " new files") + " arrived");
      updateSelection();
    }).catch(function () { /* offline for a moment: the next poll tries again */ }).then(function () {
      polling = false;
    });
  }

  document.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail.xhr;
    showError(reasonFrom(xhr));
  });

  document.addEventListener("htmx:sendError", function () {
    showError("The server could not be reached. Check your connection and try again.");
  });

  document.addEventListener("DOMContentLoaded", function () {
    setUpDropzone();
    document.documentElement.classList.add("js");
    document.querySelectorAll(".tile").forEach(function (tile) { lastState[tile.id] = tile.dataset.state; });
    localTimes(document);
    updateSelection();
    if (document.getElementById("grid")) {
      window.setInterval(pollNewer, POLL_MS);
      window.setInterval(refreshProcessing, TILES_MS);
    }
  });
})();

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
    li.appendChild(el("div", "actions"));
    tilesList().prepend(li);
    return li;
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
        li.replaceWith.apply(li, tiles);
        tiles.forEach(function (tile) { htmx.process(tile); noteState(tile); });
      } else {
        failTile(li, item.file, reasonFrom(xhr), xhr.status >= 500);
      }
    });
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
      queue.push({ file: file, tile: li });
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
    ["dragenter", "dragover"].forEach(function (name) {
      zone.addEventListener(name, function (event) {
        event.preventDefault();
        zone.classList.add("over");
      });
    });
    ["dragleave", "dragend"].forEach(function (name) {
      zone.addEventListener(name, function () { zone.classList.remove("over"); });
    });
    zone.addEventListener("drop", function (event) {
      event.preventDefault();
      zone.classList.remove("over");
      if (event.dataTransfer && event.dataTransfer.files.length) enqueue(event.dataTransfer.files);
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
  });

  document.addEventListener("file-deleted", function (event) {
    var detail = event.detail || {};
    var d = dialog();
    if (d && d.open) d.close();
    var body = document.getElementById("dialog-body");
    if (body) body.innerHTML = "";
    announce("Deleted " + (detail.name || "the file"));
    delete lastState["tile-" + detail.id];
  });

  document.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail.xhr;
    showError(reasonFrom(xhr));
  });

  document.addEventListener("htmx:sendError", function () {
    showError("The server could not be reached. Check your connection and try again.");
  });

  document.addEventListener("DOMContentLoaded", function () {
    setUpDropzone();
    document.querySelectorAll(".tile").forEach(function (tile) { lastState[tile.id] = tile.dataset.state; });
  });
})();

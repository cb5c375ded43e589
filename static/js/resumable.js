// Large files go resumably over tus 1.0 (the vendored tus-js-client): progress, pause and resume, retries after a
// dropped connection, and after a page reload the same file chosen again goes on where it stopped (tus-js-client
// keeps each unfinished upload's URL in localStorage, keyed by the file's name, type, size and date).
import { csrfToken, el } from "./dom.js";

// The unfinished uploads this browser remembers for the project (tus-js-client's entries in localStorage), named
// under the drop zone: choosing the same file again goes on where it stopped. Shown again as each one finishes.
export function showUnfinished(zone) {
  const old = document.getElementById("unfinished");
  if (old) old.remove();
  const storage = window.tus && window.tus.defaultOptions && window.tus.defaultOptions.urlStorage;
  if (!storage || !storage.findAllUploads) return;
  storage.findAllUploads().then(function (uploads) {
    const names = uploads
      .filter(function (u) { return u.metadata && u.metadata.project_id === zone.dataset.projectId; })
      .map(function (u) { return u.metadata.filename; });
    if (!names.length || document.getElementById("unfinished")) return;
    const note = el("p", "unfinished", "Not finished: " + names.join(", ") +
      ". Choose the same file again to go on where it stopped.");
    note.id = "unfinished";
    note.setAttribute("role", "status");
    zone.append(note);
  }, function () { /* no storage (private mode): nothing to show */ });
}

// Files of at least one piece (RESUMABLE_CHUNK_BYTES) go this way; smaller ones in one request.
export function resumable(zone, file) {
  return Boolean(window.tus && window.tus.isSupported && file.size >= parseInt(zone.dataset.tusChunk, 10));
}

function reasonOf(error) {
  const response = error && error.originalResponse;
  if (!response) return "the upload did not reach the server.";
  try {
    const problem = JSON.parse(response.getBody());
    if (problem && problem.detail) return problem.detail;
  } catch (ignored) {
    // not JSON: say the status
  }
  return "the server answered " + response.getStatus() + ".";
}

// Retry what may pass (a dropped link, a busy server, an offset or lock race); a refusal (4xx) is final.
function mayPass(error) {
  const response = error && error.originalResponse;
  const status = response ? response.getStatus() : 0;
  return !status || status === 409 || status === 423 || status >= 500;
}

function addPause(li, item) {
  const pause = el("button", "pause", "Pause");
  pause.type = "button";
  pause.setAttribute("aria-label", "Pause the upload of " + item.file.name);
  pause.addEventListener("click", function () {
    item.paused = !item.paused;
    if (item.paused) {
      item.upload.abort();
      pause.textContent = "Resume";
      pause.setAttribute("aria-label", "Resume the upload of " + item.file.name);
      li.dataset.state = "paused";
      li.querySelector(".status").textContent = "Paused at " + li.querySelector("progress").value + "%";
    } else {
      item.upload.start();
      pause.textContent = "Pause";
      pause.setAttribute("aria-label", "Pause the upload of " + item.file.name);
      li.dataset.state = "uploading";
    }
  });
  li.querySelector(".actions").prepend(pause);
}

// `hooks.finished(fileUrl)` once the file is stored; `hooks.failed(reason, canRetry)` when it will not be.
export function sendResumable(zone, item, hooks) {
  const li = item.tile;
  const status = li.querySelector(".status");
  const bar = li.querySelector("progress");
  let fileUrl = null;
  const upload = new window.tus.Upload(item.file, {
    endpoint: zone.dataset.tusEndpoint,
    chunkSize: parseInt(zone.dataset.tusChunk, 10),
    retryDelays: [0, 1000, 3000, 5000, 10000],
    metadata: { filename: item.file.name, project_id: zone.dataset.projectId },
    headers: { "X-CSRFToken": csrfToken() },
    removeFingerprintOnSuccess: true,
    onShouldRetry: mayPass,
    onProgress: function (sent, total) {
      const percent = Math.floor((sent / total) * 100);
      bar.value = percent;
      if (!item.paused) status.textContent = "Uploading… " + percent + "%";
    },
    onAfterResponse: function (request, response) {
      const location = response.getHeader("Content-Location");
      if (location) fileUrl = location;
    },
    onSuccess: function () {
      hooks.finished(fileUrl);
      showUnfinished(zone);
    },
    onError: function (error) {
      hooks.failed(reasonOf(error), mayPass(error));
    },
  });
  item.upload = upload;
  addPause(li, item);
  status.textContent = "Uploading… 0%";
  upload.findPreviousUploads().then(function (previous) {
    if (previous.length) upload.resumeFromPreviousUpload(previous[0]);
    if (!item.cancelled) upload.start();
  });
}

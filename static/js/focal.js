// The focal point: click or drag on the picture, or the arrow keys on the marker; saved through the form.
let saveTimer = null;
let dragging = null;

function focalParts(figure) {
  const form = document.getElementById(figure.dataset.focalForm);
  return { form: form, marker: figure.querySelector(".focal-marker"), img: figure.querySelector("img") };
}

function placeFocal(figure, x, y, save) {
  const parts = focalParts(figure);
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
      const form = document.getElementById(figure.dataset.focalForm);
      if (form) htmx.trigger(form, "submit");
    }, save === "now" ? 0 : 400);
  }
}

function pointAt(figure, event) {
  const rect = focalParts(figure).img.getBoundingClientRect();
  return [(event.clientX - rect.left) / rect.width, (event.clientY - rect.top) / rect.height];
}

document.addEventListener("pointerdown", function (event) {
  const figure = event.target.closest && event.target.closest(".focal-area");
  if (!figure || !focalParts(figure).marker || event.button !== 0) return;
  event.preventDefault();
  dragging = figure;
  const p = pointAt(figure, event);
  placeFocal(figure, p[0], p[1], false);
});

document.addEventListener("pointermove", function (event) {
  if (!dragging) return;
  const p = pointAt(dragging, event);
  placeFocal(dragging, p[0], p[1], false);
});

document.addEventListener("pointerup", function () {
  if (!dragging) return;
  const figure = dragging;
  dragging = null;
  placeFocal(figure, parseFloat(figure.dataset.x), parseFloat(figure.dataset.y), "now");
  const marker = focalParts(figure).marker;
  if (marker) marker.focus();
});

document.addEventListener("keydown", function (event) {
  const marker = event.target.closest && event.target.closest(".focal-marker");
  if (!marker) return;
  const step = event.shiftKey ? 0.1 : 0.01;
  const moves = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] };
  let move = moves[event.key];
  const figure = marker.closest(".focal-area");
  if (event.key === "Home") move = [0.5 - parseFloat(figure.dataset.x), 0.5 - parseFloat(figure.dataset.y)];
  if (!move) return;
  event.preventDefault();
  placeFocal(figure, parseFloat(figure.dataset.x) + move[0], parseFloat(figure.dataset.y) + move[1], true);
});

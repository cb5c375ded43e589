// The crop editor in an image's details: one fixed-ratio frame per preset, moved and resized by pointer or keyboard,
// with a live preview; each change is saved through the crops form (the server checks the rect again).
const KEYS = ["x", "y", "width", "height"];
const SMALLEST = 8; // px of the image: a frame never collapses to nothing under a drag
let drag = null;
let saveTimer = null;
let refocus = null;

function state(fieldset) {
  const rect = {};
  KEYS.forEach(function (key) {
    rect[key] = parseInt(fieldset.querySelector(".crop-" + key).value, 10) || 0;
  });
  return {
    rect: rect,
    aspect: parseFloat(fieldset.dataset.aspect),
    width: parseInt(fieldset.dataset.width, 10),
    height: parseInt(fieldset.dataset.height, 10),
  };
}

// The rect as the preset allows it: the preset's ratio (height follows width), inside the image.
export function fitRect(rect, imageWidth, imageHeight, aspect) {
  let width = Math.max(SMALLEST, Math.min(Math.round(rect.width), imageWidth, Math.floor(imageHeight * aspect)));
  let height = Math.max(1, Math.round(width / aspect));
  if (height > imageHeight) {
    height = imageHeight;
    width = Math.max(1, Math.round(imageHeight * aspect));
  }
  const x = Math.min(Math.max(0, Math.round(rect.x)), imageWidth - width);
  const y = Math.min(Math.max(0, Math.round(rect.y)), imageHeight - height);
  return { x: x, y: y, width: width, height: height };
}

function show(fieldset, rect) {
  const s = state(fieldset);
  rect = fitRect(rect, s.width, s.height, s.aspect);
  KEYS.forEach(function (key) {
    fieldset.querySelector(".crop-" + key).value = rect[key];
  });
  const frame = fieldset.querySelector(".crop-frame");
  if (frame) {
    frame.style.left = (rect.x / s.width) * 100 + "%";
    frame.style.top = (rect.y / s.height) * 100 + "%";
    frame.style.width = (rect.width / s.width) * 100 + "%";
    frame.style.height = (rect.height / s.height) * 100 + "%";
  }
  const live = fieldset.querySelector(".crop-live img");
  live.style.width = (s.width / rect.width) * 100 + "%";
  live.style.left = (-rect.x / rect.width) * 100 + "%";
  live.style.top = (-rect.y / rect.height) * 100 + "%";
  const where = fieldset.querySelector('[id^="crop-where-"]');
  if (where) where.textContent = rect.x + ", " + rect.y + " · " + rect.width + " × " + rect.height + " px";
  return rect;
}

function save(fieldset, delay) {
  const form = fieldset.closest("form.crops");
  window.clearTimeout(saveTimer);
  saveTimer = window.setTimeout(function () {
    form.querySelector('input[name="active"]').value = fieldset.dataset.preset;
    htmx.trigger(form, "submit");
  }, delay);
}

document.addEventListener("pointerdown", function (event) {
  const frame = event.target.closest && event.target.closest(".crop-frame");
  if (!frame || event.button !== 0) return;
  event.preventDefault();
  const fieldset = frame.closest("fieldset.crop");
  const img = fieldset.querySelector(".crop-stage img").getBoundingClientRect();
  drag = {
    fieldset: fieldset,
    resize: event.target.classList.contains("crop-handle"),
    start: state(fieldset).rect,
    x: event.clientX,
    y: event.clientY,
    scale: parseInt(fieldset.dataset.width, 10) / img.width,
  };
  frame.focus();
});

document.addEventListener("pointermove", function (event) {
  if (!drag) return;
  const dx = (event.clientX - drag.x) * drag.scale;
  const dy = (event.clientY - drag.y) * drag.scale;
  const start = drag.start;
  if (drag.resize) {
    show(drag.fieldset, { x: start.x, y: start.y, width: start.width + Math.max(dx, dy * parseFloat(drag.fieldset.dataset.aspect)), height: 0 });
  } else {
    show(drag.fieldset, { x: start.x + dx, y: start.y + dy, width: start.width, height: start.height });
  }
});

document.addEventListener("pointerup", function () {
  if (!drag) return;
  const fieldset = drag.fieldset;
  drag = null;
  refocus = fieldset.dataset.preset;
  save(fieldset, 0);
});

document.addEventListener("keydown", function (event) {
  const frame = event.target.closest && event.target.closest(".crop-frame");
  if (!frame) return;
  const moves = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
  const move = moves[event.key];
  if (!move) return;
  event.preventDefault();
  const fieldset = frame.closest("fieldset.crop");
  const s = state(fieldset);
  const step = Math.max(1, Math.round(s.width / 100));
  const rect = s.rect;
  if (event.shiftKey) {
    // Shift + Right/Down grow the frame, Left/Up shrink it, from its top-left corner.
    rect.width += (move[0] + move[1]) * step;
  } else {
    rect.x += move[0] * step;
    rect.y += move[1] * step;
  }
  show(fieldset, rect);
  refocus = fieldset.dataset.preset;
  save(fieldset, 400);
});

document.addEventListener("change", function (event) {
  const fieldset = event.target.closest && event.target.closest("fieldset.crop");
  if (fieldset && event.target.matches('input[type="number"]')) show(fieldset, state(fieldset).rect);
});

// After a save the form is replaced: keyboard focus goes back to the frame being edited.
document.addEventListener("htmx:load", function (event) {
  const node = event.detail.elt;
  if (!refocus || !node || !node.matches || !node.matches("form.crops")) return;
  const frame = node.querySelector('fieldset.crop[data-preset="' + refocus + '"] .crop-frame');
  refocus = null;
  if (frame && (document.activeElement === document.body || !document.activeElement)) frame.focus();
});

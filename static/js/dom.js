// Small helpers every part of the gallery's script shares: the CSRF token, announcements, errors, elements.

export function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}

export function announce(text) {
  const region = document.getElementById("announcer");
  if (!region) return;
  region.textContent = "";
  window.setTimeout(function () { region.textContent = text; }, 50);
}

export function showError(text) {
  const flash = document.getElementById("flash");
  if (!flash) return;
  flash.innerHTML = "";
  const p = document.createElement("p");
  p.className = "error";
  p.textContent = text;
  flash.appendChild(p);
}

export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

// The readable reason of a refused request: the server's `.error` paragraph, else its text, else the status.
export function reasonFrom(xhr) {
  const holder = document.createElement("div");
  holder.innerHTML = xhr.responseText || "";
  const message = holder.querySelector(".error");
  const text = (message ? message.textContent : holder.textContent).trim();
  return text || "the server answered " + xhr.status + ".";
}

// The tiles (`li.tile`) of an HTML fragment the server sent.
export function tilesOf(html) {
  const template = document.createElement("template");
  template.innerHTML = html.trim();
  return Array.prototype.filter.call(template.content.children, function (node) {
    return node.classList.contains("tile");
  });
}

// The `#counts` element of the gallery's `…/content/counts` fragment at `url` (the counts line, with the view's
// `data-matching` and `data-estimated`), or null when the server did not answer 200 with one; a network failure
// rejects. live.js refreshes the line with it, selection.js counts "all that match" exactly.
export function fetchCounts(url) {
  return fetch(url, { headers: { "HX-Request": "true" }, credentials: "same-origin" }).then(function (response) {
    return response.status === 200 ? response.text() : null;
  }).then(function (html) {
    const template = document.createElement("template");
    template.innerHTML = (html || "").trim();
    return template.content.getElementById("counts");
  });
}

export function plural(count, one, many) {
  return count.toLocaleString("en") + " " + (count === 1 ? one : many);
}

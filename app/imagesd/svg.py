"""SVG is parsed with the stdlib's expat (no DOCTYPE, no entities) and served with scripts and outside references removed."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from xml.parsers import expat

SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"

# Elements that run code, embed other documents or change attributes over time (SMIL can set href to javascript:).
FORBIDDEN_ELEMENTS = {
    "script",
    "foreignobject",
    "iframe",
    "embed",
    "object",
    "audio",
    "video",
    "handler",
    "listener",
    "set",
    "animate",
    "animatemotion",
    "animatetransform",
    "animatecolor",
    "discard",
}
URL_IN_CSS = re.compile(r"url\(\s*(['\"]?)(?!#)[^)]*\1\s*\)", re.IGNORECASE)
CSS_IMPORT = re.compile(r"@import[^;]*;?", re.IGNORECASE)
SAFE_DATA_IMAGE = re.compile(r"^data:image/(png|jpeg|gif|webp);base64,[A-Za-z0-9+/=\s]*$", re.IGNORECASE)


class SvgError(ValueError):
    """The bytes are not a well-formed, self-contained SVG document."""


def looks_like_svg(data: bytes) -> bool:
    head = data[:4096].lstrip(b"\xef\xbb\xbf").lstrip()
    return head.startswith((b"<?xml", b"<svg", b"<!--", b"<!DOCTYPE svg", b"<!doctype svg")) and b"<svg" in head


def _refuse_declarations(data: bytes) -> None:
    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)

    def refuse_doctype(*_args):
        raise SvgError(
            "SVG files with a DOCTYPE are not accepted (it can declare entities); remove it and upload again."
        )

    def refuse_entity(*_args):
        raise SvgError("SVG files that declare entities are not accepted.")

    parser.StartDoctypeDeclHandler = refuse_doctype
    parser.EntityDeclHandler = refuse_entity
    parser.ExternalEntityRefHandler = lambda *_args: 0
    try:
        parser.Parse(data, True)
    except expat.ExpatError as exc:
        raise SvgError(
            f"The SVG file is not well-formed XML ({expat.errors.messages[exc.code]}, line {exc.lineno})."
        ) from None


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def parse(data: bytes) -> ET.Element:
    _refuse_declarations(data)
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise SvgError(f"The SVG file is not well-formed XML ({exc}).") from None
    if _local(root.tag) != "svg":
        raise SvgError("The XML file is not an SVG image (its root element is not <svg>).")
    return root


def dimensions(root: ET.Element) -> tuple[int, int]:
    """Width and height from the attributes or the viewBox, 0 when the document does not say."""

    def number(value: str | None) -> float | None:
        match = re.match(r"^\s*([0-9.]+)\s*(px)?\s*$", value or "")
        return float(match.group(1)) if match else None

    width, height = number(root.get("width")), number(root.get("height"))
    if (width is None or height is None) and root.get("viewBox"):
        parts = re.split(r"[\s,]+", root.get("viewBox", "").strip())
        if len(parts) == 4:
            try:
                width, height = width or float(parts[2]), height or float(parts[3])
            except ValueError:
                pass
    return int(width or 0), int(height or 0)


def _is_safe_reference(value: str) -> bool:
    value = value.strip()
    return value.startswith("#") or bool(SAFE_DATA_IMAGE.match(value))


def _clean(element: ET.Element) -> None:
    for child in list(element):
        if not isinstance(child.tag, str) or _local(child.tag).lower() in FORBIDDEN_ELEMENTS:
            element.remove(child)
            continue
        _clean(child)
    for name in list(element.attrib):
        local = _local(name).lower()
        value = element.attrib[name]
        if local.startswith("on") or local in {"href", "src"} and not _is_safe_reference(value):
            del element.attrib[name]
        elif local == "style" or "url(" in value.lower():
            element.attrib[name] = CSS_IMPORT.sub("", URL_IN_CSS.sub("none", value))
    if _local(element.tag).lower() == "style" and element.text:
        element.text = CSS_IMPORT.sub("", URL_IN_CSS.sub("none", element.text))


def sanitize(data: bytes) -> bytes:
    root = parse(data)
    _clean(root)
    ET.register_namespace("", SVG_NS)
    ET.register_namespace("xlink", XLINK_NS)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)

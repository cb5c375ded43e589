"""Text for terminals: widths as displayed (wide East Asian characters and emoji take two columns), truncation."""

from __future__ import annotations

import unicodedata

ELLIPSIS = "…"


def char_width(char: str) -> int:
    if unicodedata.combining(char) or unicodedata.category(char) in ("Mn", "Me", "Cf") or char in "\u200b\ufe0f":
        return 0
    if unicodedata.east_asian_width(char) in ("W", "F"):
        return 2
    return 1


def display_width(text: str) -> int:
    return sum(char_width(char) for char in text)


def truncate(text: str, width: int) -> str:
    """At most `width` columns; a cut text ends with an ellipsis and never splits a wide character."""
    if display_width(text) <= width:
        return text
    kept, used = [], 0
    for char in text:
        w = char_width(char)
        if used + w > width - 1:
            break
        kept.append(char)
        used += w
    return "".join(kept) + ELLIPSIS


def pad(text: str, width: int) -> str:
    return text + " " * max(0, width - display_width(text))


def table(rows: list[tuple[str, ...]], max_widths: dict[int, int] | None = None) -> str:
    """Columns aligned by display width; the last column is not padded (URLs stay whole for copying)."""
    max_widths = max_widths or {}
    rows = [
        tuple(truncate(cell, max_widths[i]) if i in max_widths else cell for i, cell in enumerate(row)) for row in rows
    ]
    widths = [max(display_width(row[col]) for row in rows) for col in range(len(rows[0]) - 1)]
    return "\n".join("  ".join(pad(cell, width) for cell, width in zip(row, widths)) + "  " + row[-1] for row in rows)

"""gravity=auto: place a crop over the region most likely to draw attention, in the spirit of libvips' attention.

libvips' `interesting=attention` scores a small copy of the image by edge energy, colour saturation and skin tone
and keeps the part with the highest score. This does the same with Pillow on a copy at most `SIDE` px across,
adds colour rarity (distance from the image's median colour, so a plain subject on a busy background still
stands out), and picks the crop window with the largest summed score (a summed-area table over every position).
"""

from __future__ import annotations

from PIL import Image, ImageChops, ImageFilter, ImageStat

# Long side of the copy that is scored: enough to place a crop to within about 1 % of the image.
SIDE = 96
# Weights of the measures in the score (each 0-255 before weighting).
EDGE_WEIGHT, SATURATION_WEIGHT, RARITY_WEIGHT, SKIN_WEIGHT = 1.0, 0.5, 1.5, 0.5


def saliency(image: Image.Image) -> Image.Image:
    """An 'L' map of the image at most SIDE px across: brighter where attention is likelier to go."""
    small = image.convert("RGB")
    small.thumbnail((SIDE, SIDE), Image.Resampling.BOX)
    luma = small.convert("L")
    edges = luma.filter(ImageFilter.FIND_EDGES)
    saturation = small.convert("HSV").getchannel("S")
    median = tuple(int(value) for value in ImageStat.Stat(small).median)
    distance = ImageChops.difference(small, Image.new("RGB", small.size, median))
    rarity = distance.convert("L").point(lambda value: min(255, value * 3))
    skin = _skin(small)
    score = Image.new("L", small.size, 0)
    for layer, weight in (
        (edges, EDGE_WEIGHT),
        (saturation, SATURATION_WEIGHT),
        (rarity, RARITY_WEIGHT),
        (skin, SKIN_WEIGHT),
    ):
        score = ImageChops.add(score, layer.point(lambda value, w=weight: min(255, round(value * w / 3))))
    # Spread the score a little, as libvips blurs its map, so a window prefers whole features to their edges.
    return score.filter(ImageFilter.BoxBlur(1))


def _skin(small: Image.Image) -> Image.Image:
    """Skin-tone pixels (the classic YCbCr box), 255 where the colour could be skin."""
    _, cb, cr = small.convert("YCbCr").split()
    cb_ok = cb.point(lambda value: 255 if 77 <= value <= 127 else 0)
    cr_ok = cr.point(lambda value: 255 if 133 <= value <= 173 else 0)
    return ImageChops.multiply(cb_ok, cr_ok)


def gravity(image: Image.Image, crop_w: float, crop_h: float) -> tuple[float, float]:
    """The gravity (0-1 each way) that puts a crop_w × crop_h window (in image pixels) over the most salient part."""
    width, height = image.size
    if width <= 0 or height <= 0 or (crop_w >= width and crop_h >= height):
        return (0.5, 0.5)
    score = saliency(image)
    sw, sh = score.size
    win_w = max(1, min(sw, round(crop_w * sw / width)))
    win_h = max(1, min(sh, round(crop_h * sh / height)))
    left, top = best_window(list(score.get_flattened_data()), sw, sh, win_w, win_h)
    return (left / (sw - win_w) if sw > win_w else 0.5, top / (sh - win_h) if sh > win_h else 0.5)


def best_window(values: list[int], width: int, height: int, win_w: int, win_h: int) -> tuple[int, int]:
    """Top-left corner of the win_w × win_h window with the largest sum; ties go to the one nearest the centre."""
    table = [[0] * (width + 1) for _ in range(height + 1)]
    for y in range(height):
        row, above, line = table[y + 1], table[y], 0
        for x in range(width):
            line += values[y * width + x]
            row[x + 1] = above[x + 1] + line
    best, best_key = (0, 0), None
    centre_x, centre_y = (width - win_w) / 2, (height - win_h) / 2
    for top in range(height - win_h + 1):
        upper, lower = table[top], table[top + win_h]
        for left in range(width - win_w + 1):
            total = lower[left + win_w] - lower[left] - upper[left + win_w] + upper[left]
            key = (total, -((left - centre_x) ** 2 + (top - centre_y) ** 2))
            if best_key is None or key > best_key:
                best, best_key = (left, top), key
    return best

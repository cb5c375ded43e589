"""The image engine: Pillow with shrink-on-load for JPEG, EXIF orientation applied, metadata stripped unless kept."""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, replace

from PIL import Image, ImageEnhance, ImageFilter, ImageSequence

from . import attention
from .options import Transform
from .settings import AVIF_MAX_SIDE, MAX_PIXELS, MAX_SIDE

ORIENTATION = 0x0112
COPYRIGHT = 0x8298
TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
# Clockwise, as a viewer expects "rotate=90" to turn the picture.
ROTATE = {90: Image.Transpose.ROTATE_270, 180: Image.Transpose.ROTATE_180, 270: Image.Transpose.ROTATE_90}
MIME = {
    "jpeg": "image/jpeg",
    "png": "image/png",
    "gif": "image/gif",
    "webp": "image/webp",
    "avif": "image/avif",
    "svg": "image/svg+xml",
    "json": "application/json",
}
# Encoder effort: libwebp's method 2 encodes in about half the time of its default 4 for ~4% more bytes, and
# AVIF speed 8 keeps an on-the-fly derivative within a request's budget; delivery favours latency, like Cloudflare.
WEBP_METHOD = 2
AVIF_SPEED = 8
PIL_SAVE = {"jpeg": "JPEG", "png": "PNG", "gif": "GIF", "webp": "WEBP", "avif": "AVIF"}
WHITE = (255, 255, 255, 255)


@dataclass(frozen=True)
class Geometry:
    """Output size, the part of the (oriented, rotated) source it comes from, and the canvas for fit=pad."""

    size: tuple[int, int]
    box: tuple[float, float, float, float]
    canvas: tuple[int, int] | None = None
    scale: float = 1.0


def displayed_size(width: int, height: int, orientation: int, rotate: int = 0) -> tuple[int, int]:
    swap = (orientation in {5, 6, 7, 8}) != (rotate in {90, 270})
    return (height, width) if swap else (width, height)


def trimmed_size(width: int, height: int, transform: Transform) -> tuple[int, int]:
    """The displayed width × height after trim and then rotate (trim applies to the image as it is displayed)."""
    if width > 0 and height > 0:
        left, top, right, bottom = transform.trimmed(width, height)
        width, height = right - left, bottom - top
    return (height, width) if transform.rotate in {90, 270} else (width, height)


def geometry(width: int, height: int, transform: Transform, frames: int = 1) -> Geometry:
    """Plan the output for a width × height source, clamped to what Images will produce (see within_limits)."""
    return within_limits(_planned(width, height, transform), frames)


def within_limits(shape: Geometry, frames: int = 1) -> Geometry:
    """Shrink a planned output, keeping its aspect, to at most 12,000 px a side and 100 MP over all its frames.

    Only the requested side is range-checked, so `w=12000,fit=contain` on a 3 × 1000 source would plan
    12000 × 4,000,000; Cloudflare clamps to its limits, and so must the plan, before anything is decoded."""
    out_w, out_h = shape.canvas or shape.size
    factor = min(1.0, MAX_SIDE / max(out_w, out_h), math.sqrt(MAX_PIXELS / (out_w * out_h * max(1, frames))))
    if factor >= 1.0:
        return shape

    def shrink(size: tuple[int, int]) -> tuple[int, int]:
        return max(1, math.floor(size[0] * factor)), max(1, math.floor(size[1] * factor))

    canvas = shrink(shape.canvas) if shape.canvas else None
    return Geometry(shrink(shape.size), shape.box, canvas, shape.scale * factor)


def _planned(width: int, height: int, transform: Transform) -> Geometry:
    tw, th = transform.target_size()
    full = (0.0, 0.0, float(width), float(height))
    if width <= 0 or height <= 0:
        # An SVG that states no size has none to scale from; it is delivered as it is.
        return Geometry((max(width, 0), max(height, 0)), full)
    if tw is None and th is None:
        return Geometry((width, height), full)
    fit = transform.fit
    if tw is None or th is None:
        scale = tw / width if tw is not None else th / height
        if fit in {"scale-down", "crop"}:
            scale = min(scale, 1.0)
        return Geometry(_scaled(width, height, scale), full, scale=scale)
    if fit == "squeeze":
        return Geometry((tw, th), full, scale=max(tw / width, th / height))
    if fit in {"scale-down", "contain", "pad"}:
        scale = min(tw / width, th / height)
        if fit == "scale-down":
            scale = min(scale, 1.0)
        canvas = (tw, th) if fit == "pad" else None
        return Geometry(_scaled(width, height, scale), full, canvas, scale)
    scale = max(tw / width, th / height)
    if fit == "crop":
        scale = min(scale, 1.0)
    out_w, out_h = min(tw, max(1, round(width * scale))), min(th, max(1, round(height * scale)))
    # gravity=auto is resolved from the pixels before rendering (resolve_gravity); sizes alone plan from the centre.
    point = (0.5, 0.5) if transform.auto_gravity else transform.gravity
    return Geometry((out_w, out_h), crop_box(width, height, out_w / scale, out_h / scale, point), scale=scale)


def crop_box(
    width: int, height: int, crop_w: float, crop_h: float, gravity: tuple[float, float]
) -> tuple[float, float, float, float]:
    """Place a crop of crop_w × crop_h by gravity, clamped inside the source: float error (426.00000000000006) must
    never put an edge a hair outside, which Pillow refuses ("box offset can't be negative")."""
    crop_w, crop_h = min(float(width), crop_w), min(float(height), crop_h)
    left = min(max(0.0, (width - crop_w) * gravity[0]), width - crop_w)
    top = min(max(0.0, (height - crop_h) * gravity[1]), height - crop_h)
    return (left, top, min(float(width), left + crop_w), min(float(height), top + crop_h))


def clamp_box(box: tuple[float, float, float, float], size: tuple[int, int]) -> tuple[float, float, float, float]:
    """Keep a box scaled to a draft-decoded image inside it (the scaling can overshoot by float error too)."""
    width, height = size
    left, top = min(max(0.0, box[0]), width), min(max(0.0, box[1]), height)
    return (left, top, min(max(left, box[2]), width), min(max(top, box[3]), height))


def _scaled(width: int, height: int, scale: float) -> tuple[int, int]:
    return max(1, round(width * scale)), max(1, round(height * scale))


def output_size(width: int, height: int, transform: Transform, frames: int = 1) -> tuple[int, int]:
    """Final dimensions for an image whose displayed size is width × height (used to pick a format before rendering)."""
    width, height = trimmed_size(width, height, transform)
    shape = geometry(width, height, transform, frames_out(frames, transform))
    return shape.canvas or shape.size


def choose_format(
    kind: str, alpha: bool, animated: bool, transform: Transform, accept: str, size: tuple[int, int]
) -> str:
    """Pick the output format the way Cloudflare's format=auto does: AVIF, then WebP, then the original."""
    if kind == "svg":
        return "svg"
    moving = animated and transform.anim
    requested = transform.format
    if requested == "baseline-jpeg":
        return "jpeg"
    if requested == "avif":
        return "webp" if moving or max(size) > AVIF_MAX_SIDE else "avif"
    if requested != "auto":
        return requested
    accept = accept.lower()
    if "image/avif" in accept and not moving and max(size) <= AVIF_MAX_SIDE:
        return "avif"
    if "image/webp" in accept:
        return "webp"
    if kind in {"jpeg", "png", "gif"}:
        return kind
    if moving:
        return "gif"
    return "png" if alpha else "jpeg"


def frames_out(frames: int, transform: Transform) -> int:
    """How many frames the output may carry: all of an animation's unless anim=false (the limits count them all)."""
    return max(1, frames) if transform.anim else 1


def _normalise(image: Image.Image) -> Image.Image:
    if image.mode in {"RGB", "RGBA", "L"}:
        return image
    has_alpha = image.mode in {"LA", "PA", "RGBa", "La"} or "transparency" in image.info
    return image.convert("RGBA" if has_alpha else "RGB")


def _prepare(
    image: Image.Image, transform: Transform, full_size: tuple[int, int]
) -> tuple[Image.Image, tuple[int, int]]:
    """Orient, rotate and flip one frame; return it with the full-resolution size in the same orientation."""
    orientation = image.getexif().get(ORIENTATION, 1) if image.format in {"JPEG", "WEBP", "PNG"} else 1
    if orientation in TRANSPOSE:
        image = image.transpose(TRANSPOSE[orientation])
    image = _trim(image, transform, displayed_size(*full_size, orientation))
    if transform.rotate:
        image = image.transpose(ROTATE[transform.rotate])
    if transform.flip:
        if "h" in transform.flip:
            image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        if "v" in transform.flip:
            image = image.transpose(Image.Transpose.FLIP_TOP_BOTTOM)
    return _normalise(image), trimmed_size(*displayed_size(*full_size, orientation), transform)


def _trim(image: Image.Image, transform: Transform, full: tuple[int, int]) -> Image.Image:
    """Cut trim's box, given in full-size displayed pixels, out of a frame that may be decoded smaller."""
    box = transform.trimmed(*full)
    if box == (0, 0, *full):
        return image
    fx, fy = image.width / full[0], image.height / full[1]
    left, top = min(image.width - 1, math.floor(box[0] * fx)), min(image.height - 1, math.floor(box[1] * fy))
    right = max(left + 1, min(image.width, math.ceil(box[2] * fx)))
    bottom = max(top + 1, min(image.height, math.ceil(box[3] * fy)))
    return image.crop((left, top, right, bottom))


def resolve_gravity(image: Image.Image, transform: Transform, full: tuple[int, int], frames: int = 1) -> Transform:
    """Turn gravity=auto into the point that keeps the most salient region of this (prepared) image in the crop."""
    if not transform.auto_gravity:
        return transform
    shape = geometry(*full, transform, frames)
    crop_w, crop_h = shape.box[2] - shape.box[0], shape.box[3] - shape.box[1]
    point = attention.gravity(image, crop_w * image.width / full[0], crop_h * image.height / full[1])
    return replace(transform, gravity=point)


def _resize(image: Image.Image, shape: Geometry, full_size: tuple[int, int], transform: Transform) -> Image.Image:
    # The geometry was computed on the full-size image; the decoded one may be smaller after draft().
    fx, fy = image.width / full_size[0], image.height / full_size[1]
    box = clamp_box((shape.box[0] * fx, shape.box[1] * fy, shape.box[2] * fx, shape.box[3] * fy), image.size)
    if shape.size != image.size or box != (0, 0, image.width, image.height):
        image = image.resize(shape.size, Image.Resampling.LANCZOS, box=box)
    if shape.canvas:
        background = transform.background or WHITE
        canvas = Image.new("RGBA" if background[3] < 255 or image.mode == "RGBA" else "RGB", shape.canvas, background)
        offset = ((shape.canvas[0] - image.width) // 2, (shape.canvas[1] - image.height) // 2)
        if image.mode == "RGBA":
            canvas.paste(image, offset, image)
        else:
            canvas.paste(image.convert(canvas.mode), offset)
        image = canvas
    return _filters(image, transform)


def _filters(image: Image.Image, transform: Transform) -> Image.Image:
    if transform.blur:
        image = image.filter(ImageFilter.GaussianBlur(transform.blur / 2))
    if transform.sharpen:
        image = image.filter(
            ImageFilter.UnsharpMask(radius=1 + transform.sharpen / 5, percent=int(transform.sharpen * 30))
        )
    if transform.brightness != 1.0:
        image = ImageEnhance.Brightness(image).enhance(transform.brightness)
    if transform.contrast != 1.0:
        image = ImageEnhance.Contrast(image).enhance(transform.contrast)
    if transform.saturation != 1.0:
        image = ImageEnhance.Color(image).enhance(transform.saturation)
    if transform.gamma not in (0.0, 1.0):
        lut = [min(255, round(255 * (value / 255) ** (1 / transform.gamma))) for value in range(256)]
        image = image.point(lut * len(image.getbands()))
    return image


def _exif_bytes(source: Image.Image, transform: Transform) -> bytes | None:
    if transform.metadata == "none":
        return None
    exif = source.getexif()
    if transform.metadata == "copyright":
        copyright_text = exif.get(COPYRIGHT)
        if not copyright_text:
            return None
        exif = Image.Exif()
        exif[COPYRIGHT] = copyright_text
        return exif.tobytes()
    if not exif:
        return None
    exif[ORIENTATION] = 1
    return exif.tobytes()


def _flatten(image: Image.Image, transform: Transform) -> Image.Image:
    if image.mode in {"RGB", "L"}:
        return image
    background = Image.new("RGB", image.size, (transform.background or WHITE)[:3])
    background.paste(image, mask=image.getchannel("A") if image.mode in {"RGBA", "LA"} else None)
    return background


def _save_options(fmt: str, source: Image.Image, transform: Transform) -> dict:
    options: dict = {}
    icc = source.info.get("icc_profile")
    if icc and fmt != "gif":
        options["icc_profile"] = icc
    if fmt in {"jpeg", "webp", "avif"}:
        options["quality"] = transform.quality
    if fmt == "webp":
        options["method"] = WEBP_METHOD
        # As Cloudflare documents: quality=100 WebP is lossless.
        options["lossless"] = transform.quality == 100
    if fmt == "jpeg":
        # format=jpeg (and any JPEG output) is progressive; baseline-jpeg is the one way to ask for baseline.
        options["progressive"] = transform.format != "baseline-jpeg"
    if fmt == "avif":
        options["speed"] = AVIF_SPEED
    if fmt == "jpeg":
        exif = _exif_bytes(source, transform)
        if exif:
            options["exif"] = exif
    return options


def render(data: bytes, transform: Transform, fmt: str) -> bytes:
    """Return the encoded derivative of the original bytes."""
    source = Image.open(io.BytesIO(data))
    if getattr(source, "n_frames", 1) > 1 and transform.anim and fmt in {"webp", "gif"}:
        return _render_animation(source, transform, fmt)
    full_size = source.size
    frames = frames_out(getattr(source, "n_frames", 1), transform)
    if source.format == "JPEG":
        _shrink_on_load(source, transform, frames)
    source.load()
    image, oriented = _prepare(source, transform, full_size)
    transform = resolve_gravity(image, transform, oriented, frames)
    image = _resize(image, geometry(*oriented, transform, frames), oriented, transform)
    if fmt == "jpeg":
        image = _flatten(image, transform)
    out = io.BytesIO()
    image.save(out, PIL_SAVE[fmt], **_save_options(fmt, source, transform))
    return out.getvalue()


def _shrink_on_load(source: Image.Image, transform: Transform, frames: int) -> None:
    """Ask libjpeg to decode at 1/2, 1/4 or 1/8 scale when the output is that much smaller."""
    orientation = source.getexif().get(ORIENTATION, 1)
    width, height = trimmed_size(*displayed_size(*source.size, orientation), transform)
    scale = geometry(width, height, transform, frames).scale
    if scale >= 0.5:
        return
    mode = source.mode if source.mode in {"RGB", "L"} else None
    source.draft(mode, (max(1, math.ceil(source.width * scale)), max(1, math.ceil(source.height * scale))))


def _render_animation(source: Image.Image, transform: Transform, fmt: str) -> bytes:
    frames, durations, count = [], [], source.n_frames
    for frame in ImageSequence.Iterator(source):
        durations.append(frame.info.get("duration", 100))
        image, oriented = _prepare(frame.convert("RGBA"), transform, frame.size)
        # The first frame places an automatic crop for the whole animation, so it does not jump between frames.
        transform = resolve_gravity(image, transform, oriented, count)
        frames.append(_resize(image, geometry(*oriented, transform, count), oriented, transform))
    out = io.BytesIO()
    options = {"save_all": True, "append_images": frames[1:], "duration": durations, "loop": source.info.get("loop", 0)}
    if fmt == "webp":
        options["quality"] = transform.quality
        options["lossless"] = transform.quality == 100
    else:
        options["disposal"] = 2
    frames[0].save(out, PIL_SAVE[fmt], **options)
    return out.getvalue()

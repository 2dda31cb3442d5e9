"""Screenshots as they travel: PNG passthrough (the guest's bytes, never decoded) or JPEG re-encoded here."""
from __future__ import annotations

import io

from PIL import Image

from ..actions import smart_resize


def encode_image(png: bytes, image_format: str, jpeg_quality: int,
                 jpeg_max_pixels: int | None = None) -> bytes:
    """The screenshot as the trainer receives it (before base64): the guest's PNG untouched, or a JPEG."""
    if image_format == "png":
        return png
    image = Image.open(io.BytesIO(png)).convert("RGB")
    if jpeg_max_pixels and image.width * image.height > jpeg_max_pixels:
        height, width = smart_resize(image.height, image.width, max_pixels=jpeg_max_pixels)
        image = image.resize((width, height), Image.BICUBIC)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=jpeg_quality)
    return buffer.getvalue()

"""OSWorld's image metrics (GIMP, VLC and slide tasks): Pillow, plus numpy from the `docs` extra (imported
lazily).

Behaviour follows OSWorld's gimp.py and vlc.py metrics:
- Structural similarity is skimage's `structural_similarity` with the defaults OSWorld calls it with (7x7
  uniform window, sample covariance, K1=0.01, K2=0.03, data range 255 for 8-bit images, colour channels
  averaged), computed here with numpy. As in OSWorld's structure check, both images are compared as RGB and
  images smaller than 7 pixels or of different sizes are not similar (threshold 0.9 unless a metric says
  otherwise).
- compare_images: grayscale SSIM after resizing both to the smaller size (OSWorld takes the min of the (width,
  height) tuples), rescaled above `reference_base_result` when the task gives one.
- The check_*_and_structure_sim metrics pair that similarity with a property: darker (brightness-normalised
  MSE below `threshold`), more saturated (H and V channels similar), more contrast (similarity 0.65), palette
  mode, exported file exists. check_image_mirror needs 0.99 with the flipped source.
- check_structure_sim_with_threshold (upstream's newer gimp.py): the result resized to the expected size, then
  SSIM against `ssim_threshold` (default 0.85), with a smaller odd window for images under 7 pixels.
- check_green_background, check_triangle_position, check_textbox_on_leftside, check_image_size,
  check_image_file_size, compare_image_list, check_config_status (GIMP's gimprc/sessionrc lines) as OSWorld
  writes them, quirks included (noted where they are).
Where OSWorld's code would raise (an unreadable image, a grayscale image where it indexes colour channels, a
non-square image in check_green_background) the score is 0.0. Options other than the listed ones are refused.
"""
from __future__ import annotations

import functools
import os

from PIL import Image, ImageChops, ImageStat

from ..host_policy import pillow
from ..registry import Need, metric

pillow()                                                # the decompression-bomb bound, before any image opens

NUMPY = Need("docs", ("numpy",), "needs the docs extra (numpy): pip install '.[docs]'")
WINDOW = 7                                              # skimage's default SSIM window side


def _scored(metric):
    """A missing path scores 0.0, and so does an image Pillow cannot read (OSWorld would raise)."""
    @functools.wraps(metric)
    def scored(*args, **options) -> float:
        if any(arg is None for arg in args):
            return 0.0
        try:
            return float(metric(*args, **options))
        except (OSError, ValueError, ArithmeticError, Image.DecompressionBombError):
            return 0.0
    return scored


# --- structural similarity ----------------------------------------------------------------------------------
def structural_similarity(first, second, window: int = WINDOW) -> float:
    """skimage.metrics.structural_similarity(first, second[, win_size=window][, channel_axis=2]) for two 8-bit
    arrays of one shape."""
    import numpy as np  # optional: docs extra
    if min(first.shape[:2]) < window:
        raise ValueError(f"image smaller than the {window}x{window} SSIM window")
    if first.ndim == 3:
        return float(np.mean([structural_similarity(first[..., c], second[..., c], window)
                              for c in range(first.shape[2])]))
    x, y = first.astype(np.float64), second.astype(np.float64)
    ux, uy = _window_means(x, window), _window_means(y, window)
    cov_norm = window ** 2 / (window ** 2 - 1)          # a 1-pixel window divides by zero, as in skimage
    vx = cov_norm * (_window_means(x * x, window) - ux * ux)
    vy = cov_norm * (_window_means(y * y, window) - uy * uy)
    vxy = cov_norm * (_window_means(x * y, window) - ux * uy)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    ssim_map = ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux * ux + uy * uy + c1) * (vx + vy + c2))
    return float(ssim_map.mean())


def _window_means(values, window: int):
    """The mean of every window lying wholly inside the image: skimage filters the whole image and then crops
    the border that its padding touched, which leaves exactly these."""
    import numpy as np  # optional: docs extra
    for _ in range(2):                                  # rows, then (transposed) columns; two transposes undo
        sums = np.cumsum(values, axis=0)
        sums = np.vstack([np.zeros((1, sums.shape[1])), sums])
        values = (sums[window:] - sums[:-window]).T
    return values / window ** 2


def _similar(first: Image.Image, second: Image.Image, threshold: float = 0.9) -> bool:
    """OSWorld's structure_check_by_ssim."""
    import numpy as np  # optional: docs extra
    if min(first.size + second.size) < WINDOW or first.size != second.size:
        return False
    return structural_similarity(np.array(first.convert("RGB")), np.array(second.convert("RGB"))) >= threshold


# --- whole-image comparisons --------------------------------------------------------------------------------
@metric(needs=(NUMPY,), options={"reference_base_result"})
@_scored
def compare_images(result: str, expected: str, reference_base_result: float | None = None,
                   **options) -> float:
    import numpy as np  # optional: docs extra
    first, second = Image.open(result).convert("L"), Image.open(expected).convert("L")
    size = min(first.size, second.size)                 # tuple order: the narrower one, as OSWorld does
    similarity = structural_similarity(np.array(first.resize(size, Image.Resampling.LANCZOS)),
                                       np.array(second.resize(size, Image.Resampling.LANCZOS)))
    if reference_base_result is None:
        return similarity            # raw SSIM as OSWorld returns it: anti-correlated images score below 0
    if similarity >= reference_base_result + 0.01:
        return (similarity - reference_base_result) / (1 - reference_base_result)
    return 0.0


@metric()
@_scored
def compare_image_list(results, expecteds, **options) -> float:
    """Every result equals its expected image pixel for pixel, after resizing and converting it to match."""
    if not isinstance(results, list):
        results, expecteds = [results], [expecteds]
    for result, expected in zip(results, expecteds):
        if not result or not expected:
            return 0.0
        actual, gold = Image.open(result), Image.open(expected)
        if actual.size != gold.size:
            actual = actual.resize(gold.size, Image.Resampling.LANCZOS)
        if actual.mode != gold.mode:
            actual = actual.convert(gold.mode)
        # Pillow's getbbox: for RGBA, alpha only (as in OSWorld)
        if ImageChops.difference(actual, gold).getbbox():
            return 0.0
    return 1.0


@metric(needs=(NUMPY,))
@_scored
def check_structure_sim(result: str, expected: str, **options) -> float:
    first, second = Image.open(result), Image.open(expected)
    return _similar(first, second)


@metric(needs=(NUMPY,))
@_scored
def check_structure_sim_resized(result: str, expected: str, **options) -> float:
    """The result (cropped to its opaque content when it has transparency) resized to the expected image."""
    source, target = Image.open(result), Image.open(expected)
    if source.mode in ("RGBA", "LA") or "transparency" in source.info:
        source = source.convert("RGBA")
        box = source.getchannel("A").getbbox()
        if box is None:
            return 0.0
        source = source.crop(box).convert("RGB")
    return _similar(source.resize(target.size), target.convert("RGB"))


@metric(needs=(NUMPY,), options={"ssim_threshold"})
@_scored
def check_structure_sim_with_threshold(result: str, expected: str, ssim_threshold: float = 0.85,
                                       **options) -> float:
    """The result resized (Lanczos) to the expected image's size, both as RGB, with SSIM at least the
    threshold; an image under 7 pixels on a side gets the largest odd window that fits, as OSWorld picks
    it."""
    import numpy as np  # optional: docs extra
    source, target = Image.open(result), Image.open(expected)
    if source.size != target.size:
        source = source.resize(target.size, Image.Resampling.LANCZOS)
    window = min(WINDOW, min(target.size))
    window -= 1 - window % 2                            # the largest odd size that fits
    similarity = structural_similarity(np.array(source.convert("RGB")),
                                       np.array(target.convert("RGB")), window)
    return similarity >= ssim_threshold


@metric(needs=(NUMPY,))
@_scored
def check_file_exists_and_structure_sim(result: str, expected: str, **options) -> float:
    return os.path.isfile(result) and _similar(Image.open(result), Image.open(expected))


@metric(needs=(NUMPY,))
@_scored
def check_image_mirror(result: str, expected: str, **options) -> float:
    flipped = Image.open(result).transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    return _similar(flipped, Image.open(expected), 0.99)


@metric(needs=(NUMPY,))
@_scored
def check_palette_and_structure_sim(result: str, expected: str, **options) -> float:
    source = Image.open(result)
    return source.mode == "P" and _similar(source.convert("RGB"), Image.open(expected))


# --- a property changed, the structure kept -----------------------------------------------------------------
def _brightness(image: Image.Image) -> float:
    return ImageStat.Stat(image.convert("L")).mean[0]


def _brightness_normalized(image: Image.Image) -> Image.Image:
    factor = 128 / _brightness(image)  # an all-black image divides by zero: 0.0, as OSWorld fails
    return image.point(lambda value: min(255, max(0, int(value * factor))))


def _mse(first: Image.Image, second: Image.Image) -> float:
    """OSWorld's structure_check_by_mse: RGB values in [0, 1], float32 as there, the first resized to the
    second."""
    import numpy as np  # optional: docs extra
    if first.size != second.size:
        first = first.resize(second.size, Image.Resampling.LANCZOS)
    a = np.array(first.convert("RGB"), dtype=np.float32) / 255
    b = np.array(second.convert("RGB"), dtype=np.float32) / 255
    return float(np.mean((a - b) ** 2))


@metric(needs=(NUMPY,), options={"threshold"})
@_scored
def check_brightness_decrease_and_structure_sim(result: str, expected: str, threshold: float = 0.03,
                                                **options) -> float:
    source, target = Image.open(result), Image.open(expected)
    darker = _brightness(target) > _brightness(source)
    return darker and _mse(_brightness_normalized(source), _brightness_normalized(target)) < threshold


@metric(needs=(NUMPY,))
@_scored
def check_saturation_increase_and_structure_sim(result: str, expected: str, **options) -> float:
    import numpy as np  # optional: docs extra
    source, target = Image.open(result).convert("HSV"), Image.open(expected).convert("HSV")
    (h1, s1, v1), (h2, s2, v2) = source.split(), target.split()
    more_saturated = np.mean(np.array(s1)) > np.mean(np.array(s2))
    return more_saturated and _similar(h1, h2) and _similar(v1, v2)


@metric(needs=(NUMPY,))
@_scored
def check_contrast_increase_and_structure_sim(result: str, expected: str, **options) -> float:
    import numpy as np  # optional: docs extra
    source, target = Image.open(result), Image.open(expected)
    # contrast as OSWorld measures it: the standard deviation of the raw pixel values, whatever the image mode
    more_contrast = (np.std(np.asarray(source, dtype=np.float32))
                     > np.std(np.asarray(target, dtype=np.float32)))
    return more_contrast and _similar(source, target, 0.65)


# --- single-image checks ------------------------------------------------------------------------------------
@metric(needs=(NUMPY,))
@_scored
def check_green_background(result: str, expected: str, **options) -> float:
    """Every pixel that is not black in the expected image is green (G above R and B) in the result.

    OSWorld indexes both arrays [x, y] over width and height: that only completes for a square expected image,
    where it is the same pixel-for-pixel check; on any other it fails (or scores 0 first), so 0.0 here."""
    import numpy as np  # optional: docs extra
    source, target = np.array(Image.open(result)), np.array(Image.open(expected))
    if source.ndim != 3 or target.ndim != 3 or min(source.shape[2], target.shape[2]) < 3:
        return 0.0
    side = target.shape[0]
    if target.shape[1] != side or min(source.shape[:2]) < side:
        return 0.0
    background = np.any(target[..., :3] != 0, axis=2)
    red, green, blue = (source[:side, :side, channel] for channel in range(3))
    return bool(np.all(((green > red) & (green > blue))[background]))


@metric(needs=(NUMPY,))
@_scored
def check_triangle_position(result: str, **options) -> float:
    """The triangle's centroid is within 5% of the image centre on both axes."""
    import numpy as np  # optional: docs extra
    pixels = np.array(Image.open(result))
    if pixels.ndim != 3:
        return 0.0
    colors, counts = np.unique(pixels.reshape(-1, pixels.shape[2]), axis=0, return_counts=True)
    if len(colors) < 2:
        return 0.0
    triangle = colors[np.argsort(counts)][1]            # OSWorld takes the second *least* common colour
    centroid = np.argwhere(np.all(pixels == triangle, axis=2)).mean(axis=0)
    shape = np.array(pixels.shape[:2])
    return bool(np.all(np.abs(centroid - shape / 2) < 0.05 * shape))


@metric(rule_keys={"height", "width", "ignore_transparent"})
@_scored
def check_image_size(result: str, rules: dict, **options) -> float:
    """Width and height (each only when the rule gives it) of the image, or of its opaque content."""
    image = Image.open(result)
    # OSWorld's condition, precedence included: any image with a `transparency` entry is measured by its
    # content
    if rules.get("ignore_transparent", False) and image.mode in ("RGBA", "LA") \
            or "transparency" in image.info:
        box = image.convert("RGBA").getchannel("A").getbbox()
        width, height = (box[2] - box[0], box[3] - box[1]) if box else (0, 0)
    else:
        width, height = image.size
    return ((rules.get("height") is None or height == rules["height"])
            and (rules.get("width") is None or width == rules["width"]))


@metric(rule_keys={"max_size"})
@_scored
def check_image_file_size(result: str, rules: dict, **options) -> float:
    return os.path.getsize(result) < rules["max_size"]


@metric()
@_scored
def check_textbox_on_leftside(result: str, **options) -> float:
    """The leftmost dark pixel (gray below 128) lies in the left 5% of the image."""
    image = Image.open(result)
    dark = image.convert("L").point(lambda value: 255 if value < 128 else 0).getbbox()
    return (dark[0] if dark else image.width) < image.width * 0.05


@metric(rule_keys={"type:", "key", "value"})          # "type:" (sic, in real tasks) is not read
@_scored
def check_config_status(result: str, rules: dict, **options) -> float:
    """A line of GIMP's config whose first word is the key (or first two words, for a two-word key) and whose
    last word is the value, parentheses stripped: `(theme "Light")` has key `theme` and value `"Light"`."""
    key, value = rules["key"], rules["value"]
    with open(result, encoding="utf-8", errors="replace") as config:
        for line in config:
            if line.startswith("#") or line == "\n":
                continue
            words = line.strip().lstrip("(").rstrip(")\n").split()
            if not words or words[-1] != value:
                continue
            if (isinstance(key, str) and words[0] == key) or (isinstance(key, list) and len(key) == 2
                                                              and words[:2] == key):
                return 1.0
    return 0.0

"""LibreOffice Impress metrics, following OSWorld's slides.py; python-pptx (the `docs` extra) is imported
lazily.

compare_pptx_files reads both files with python-pptx, as OSWorld does, so a value means the same on both sides
(placeholder positions inherited from layouts, `None` for an unset font property, ...). It is one conjunction
of OSWorld's checks, each switched by an `examine_*` option with OSWorld's default:
- slides: their number; per slide the solid background colour (the slide's, else its master's) and the notes
  text;
- shapes: the same number of top-level shapes, compared pairwise in order: position and size within
  `approximately_tolerance` (relative, default 0.005) unless both are empty of text, and the task-specific
  placement variants (examine_title_bottom_position, examine_table_bottom_position, examine_right_position,
  examine_top_position, examine_shape_for_shift_size, examine_image_size, examine_modify_height) with
  OSWorld's hard-coded slide numbers, texts and EMU thresholds;
- text: shape and paragraph text, paragraph count, alignment (unset = left), indent level (0 and 1 alike), run
  count (runs of blank paragraphs without text ignored), per run the font name, size, bold and italic (unset =
  off), sRGB colour, underline (only unset against single, or two set values that differ), strike-through;
  bullets compare every paragraph of the slide (text, bullet character, level when either has a bullet) and,
  as in OSWorld, are skipped for a slide holding an empty text element;
- tables: the same grid, per cell the paragraph and run counts and each run's colour, bold, italic and
  underline (cell text only through the bullets, which read every paragraph of the slide, tables and groups
  included);
- groups: text shapes at any depth, groups included, must be as many; with examine_alignment their text,
  paragraph count and alignment are compared too.
Options that do not change OSWorld's score (enable_debug: logging, _note, examine_shape_lenient_height) change
nothing; any other option is refused by its declaration, and so is examine_shape_lenient_height with
examine_shape on, where a later OSWorld could give it a meaning. A file python-pptx cannot read, or a
comparison OSWorld itself would fail on, scores 0.0.

The other metrics follow OSWorld's one-task checks: LibreOffice settings in registrymodifications.xcu
(presenter console, autosave interval), a slide's transition, page orientation, background colours against an
RGB target, a picture stretched and centred, the slide-number colour in the first master, and the slide panel
in the accessibility tree.
"""
from __future__ import annotations

import math
import xml.etree.ElementTree as ET
import zipfile

from ..formats.office import NS, registry_values
from ..registry import Need, metric

EXAMINED_BY_DEFAULT = {
    "examine_number_of_slides", "examine_shape", "examine_text", "examine_indent", "examine_font_name",
    "examine_font_size", "examine_font_bold", "examine_font_italic", "examine_color_rgb",
    "examine_font_underline",
    "examine_strike_through", "examine_alignment", "examine_run_count", "examine_bullets",
    "examine_background_color", "examine_note",
}
NOT_EXAMINED_BY_DEFAULT = {
    "examine_title_bottom_position", "examine_table_bottom_position", "examine_right_position",
    "examine_top_position", "examine_shape_for_shift_size", "examine_image_size", "examine_modify_height",
}
IGNORED_OPTIONS = {"enable_debug", "_note", "examine_shape_lenient_height"}
SUPPORTED_OPTIONS = (EXAMINED_BY_DEFAULT | NOT_EXAMINED_BY_DEFAULT | IGNORED_OPTIONS
                     | {"approximately_tolerance"})

PPTX = Need("docs", ("pptx",))                          # python-pptx, for the metrics that read .pptx files
EMU_PER_INCH = 914400


def lenient_height_gaps(options: dict) -> list[str]:
    """Its name says it relaxes examine_shape, which OSWorld does not read yet: harmless only with
    examine_shape off."""
    if options.get("examine_shape_lenient_height") and options.get("examine_shape", True):
        return ["compare_pptx_files option 'examine_shape_lenient_height' with examine_shape "
                "(not implemented)"]
    return []


def _open(path):
    from pptx import Presentation  # optional: docs extra
    return Presentation(path)


# --- compare_pptx_files -------------------------------------------------------------------------------------

class _Options:
    def __init__(self, options: dict):
        self.options = options
        self.tolerance = options.get("approximately_tolerance", 0.005)

    def __call__(self, name: str) -> bool:
        key = f"examine_{name}"
        return bool(self.options.get(key, key in EXAMINED_BY_DEFAULT))

    def close(self, a, b) -> bool:
        """OSWorld's relative tolerance; a zero only equals a zero."""
        if a == b:
            return True
        if a == 0 or b == 0:
            return False
        return abs(a - b) / max(abs(a), abs(b)) <= self.tolerance

    def same_box(self, shape1, shape2) -> bool:
        return all(self.close(getattr(shape1, side), getattr(shape2, side))
                   for side in ("left", "top", "width", "height"))


@metric(needs=(PPTX,), options=SUPPORTED_OPTIONS, check=lenient_height_gaps)
def compare_pptx_files(file1: str | None, file2: str | None, **options) -> float:
    """1.0 when the result presentation (file1) matches the expected one (file2) on every examined
    property."""
    if not file1 or not file2:
        return 0.0
    try:
        return float(_presentations_match(_open(file1), _open(file2), _Options(options)))
    except Exception:  # noqa: BLE001  (unreadable file, or where OSWorld fails)
        return 0.0


def _presentations_match(prs1, prs2, examine: _Options) -> bool:
    if examine("number_of_slides") and len(prs1.slides) != len(prs2.slides):
        return False
    return all(_slides_match(number, slide1, slide2, examine)
               for number, (slide1, slide2) in enumerate(zip(prs1.slides, prs2.slides), start=1))


def _slides_match(number: int, slide1, slide2, examine: _Options) -> bool:
    if examine("background_color") and _background_rgb(slide1) != _background_rgb(slide2):
        return False
    if examine("note") and _notes(slide1).strip() != _notes(slide2).strip():
        return False
    if len(slide1.shapes) != len(slide2.shapes):
        return False
    runs_compared = False
    for shape1, shape2 in zip(slide1.shapes, slide2.shapes):
        if not (_placement_matches(number, shape1, shape2, examine)
                and _table_matches(shape1, shape2, examine)):
            return False
        if _has_text(shape1) and _has_text(shape2):
            if not _text_matches(shape1, shape2, examine):
                return False
            runs_compared = runs_compared or any(_run_pairs(p1, p2)
                                                 for p1, p2 in _paragraph_pairs(shape1, shape2))
    # OSWorld compares the bullets of the whole slide once per pair of runs: once is enough when there is any.
    if examine("bullets") and runs_compared and not _bullets_match(slide1, slide2):
        return False
    return _nested_text_shapes_match(slide1, slide2, examine)


def _background_fill(slide):
    """The slide's background fill, or its master's when it has none of its own (layouts are skipped)."""
    from pptx.enum.dml import MSO_FILL  # optional: docs extra
    fill = slide.background.fill
    return slide.slide_layout.slide_master.background.fill if fill.type == MSO_FILL.BACKGROUND else fill


def _background_rgb(slide):
    from pptx.enum.dml import MSO_FILL  # optional: docs extra
    fill = _background_fill(slide)
    return fill.fore_color.rgb if fill.type == MSO_FILL.SOLID else None


def _notes(slide) -> str:
    return slide.notes_slide.notes_text_frame.text


def _has_text(shape) -> bool:
    return hasattr(shape, "text")


def _empty_text(shape) -> bool:
    return not getattr(shape, "text", None) or shape.text.strip() == ""


def _placement_matches(number: int, shape1, shape2, examine: _Options) -> bool:
    """Position and size checks; shape1 is the result's. Thresholds are OSWorld's, in EMU, for its tasks'
    files."""
    from pptx.enum.shapes import MSO_SHAPE_TYPE as TYPE  # optional: docs extra
    same_box = examine.same_box(shape1, shape2)
    both = lambda kind: shape1.shape_type == kind and shape2.shape_type == kind      # noqa: E731
    both_text = _has_text(shape1) and _has_text(shape2)
    if examine("title_bottom_position"):
        if both_text and shape1.text == shape2.text:
            if shape1.text == "Product Comparison" and (shape1.top <= shape2.top or shape1.top < 3600000):
                return False
        elif not same_box:
            return False
    if examine("table_bottom_position"):
        if number == 3 and both(TYPE.TABLE):
            if shape1.top <= shape2.top or shape1.top < 3600000:
                return False
        elif not same_box:
            return False
    if examine("right_position") and number == 2 and not _has_text(shape1) and not _has_text(shape2):
        if shape1.left <= shape2.left or shape1.left < 4320000:
            return False
    if examine("top_position") and number == 2 and both(TYPE.PICTURE):
        if shape1.top >= shape2.top or shape1.top > 1980000:
            return False
    if examine("shape_for_shift_size") and not same_box:
        if not (both_text and shape1.text == shape2.text == "Elaborate on what you want to discuss."):
            return False
    if examine("shape") and not same_box and not (_empty_text(shape1) and _empty_text(shape2)):
        return False
    if examine("image_size"):
        if both(TYPE.PICTURE):
            if not (examine.close(shape1.width, shape2.width)
                    and examine.close(shape1.height, shape2.height)):
                return False
        elif not same_box:
            return False
    if examine("modify_height"):
        if (not _has_text(shape1) and not _has_text(shape2)) or both(TYPE.FREEFORM):
            if not examine.close(shape1.height, shape2.height):
                return False
        elif not same_box:
            return False
    return True


def _table_matches(shape1, shape2, examine: _Options) -> bool:
    from pptx.enum.shapes import MSO_SHAPE_TYPE  # optional: docs extra
    if shape1.shape_type != MSO_SHAPE_TYPE.TABLE:
        return True
    if not shape2.has_table:
        return False
    table1, table2 = shape1.table, shape2.table
    if len(table1.rows) != len(table2.rows) or len(table1.columns) != len(table2.columns):
        return False
    for row in range(len(table1.rows)):
        for column in range(len(table1.columns)):
            frame1, frame2 = table1.cell(row, column).text_frame, table2.cell(row, column).text_frame
            if len(frame1.paragraphs) != len(frame2.paragraphs):
                return False
            for para1, para2 in zip(frame1.paragraphs, frame2.paragraphs):
                if not _run_count_matches(para1, para2, examine):
                    return False
                for run1, run2 in _run_pairs(para1, para2):
                    font1, font2 = run1.font, run2.font
                    if examine("color_rgb") and not _same_color(font1, font2):
                        return False
                    # In tables OSWorld always compares these, whatever the options say.
                    if not (_same_flag(font1.bold, font2.bold) and _same_flag(font1.italic, font2.italic)
                            and _same_underline(font1.underline, font2.underline)):
                        return False
    return True


def _paragraph_pairs(shape1, shape2):
    return list(zip(shape1.text_frame.paragraphs, shape2.text_frame.paragraphs))


def _text_matches(shape1, shape2, examine: _Options) -> bool:
    if examine("text") and shape1.text.strip() != shape2.text.strip():
        return False
    if len(shape1.text_frame.paragraphs) != len(shape2.text_frame.paragraphs):
        return False
    for para1, para2 in _paragraph_pairs(shape1, shape2):
        if examine("alignment") and _alignment(para1) != _alignment(para2):
            return False
        if examine("text") and para1.text != para2.text:
            return False
        # Levels 0 and 1 look the same (a continuation indent), so OSWorld lets them differ.
        if examine("indent") and para1.level != para2.level and not {para1.level, para2.level} <= {0, 1}:
            return False
        if not _run_count_matches(para1, para2, examine):
            return False
        if not all(_runs_match(run1, run2, examine) for run1, run2 in _run_pairs(para1, para2)):
            return False
    return True


def _alignment(paragraph):
    from pptx.enum.text import PP_ALIGN  # optional: docs extra
    return PP_ALIGN.LEFT if paragraph.alignment is None else paragraph.alignment


def _compared_runs(para1, para2) -> tuple[list, list]:
    """Runs to compare: in two blank paragraphs only runs holding text (0 runs and 1 empty run are alike)."""
    if (para1.text or "").strip() == "" and (para2.text or "").strip() == "":
        return ([r for r in para1.runs if (r.text or "").strip()],
                [r for r in para2.runs if (r.text or "").strip()])
    return list(para1.runs), list(para2.runs)


def _run_count_matches(para1, para2, examine: _Options) -> bool:
    runs1, runs2 = _compared_runs(para1, para2)
    return not examine("run_count") or len(runs1) == len(runs2)


def _run_pairs(para1, para2) -> list:
    return list(zip(*_compared_runs(para1, para2)))


def _runs_match(run1, run2, examine: _Options) -> bool:
    font1, font2 = run1.font, run2.font
    return not (
        (examine("font_name") and font1.name != font2.name)
        or (examine("font_size") and font1.size != font2.size)
        or (examine("font_bold") and not _same_flag(font1.bold, font2.bold))
        or (examine("font_italic") and not _same_flag(font1.italic, font2.italic))
        or (examine("color_rgb") and not _same_color(font1, font2))
        or (examine("font_underline") and not _same_underline(font1.underline, font2.underline))
        or (examine("strike_through") and _strike(run1) != _strike(run2)))


def _same_flag(a, b) -> bool:
    """Bold or italic: unset and off are alike."""
    return a == b or (a in (None, False) and b in (None, False))


def _same_color(font1, font2) -> bool:
    """Only two explicit RGB colours are compared (theme colours and unset ones have no .rgb)."""
    color1, color2 = font1.color, font2.color
    return not (hasattr(color1, "rgb") and hasattr(color2, "rgb")) or color1.rgb == color2.rgb


def _same_underline(a, b) -> bool:
    """OSWorld's rule: two set values must be equal; unset differs only from a single underline (True)."""
    if a == b:
        return True
    if a is not None and b is not None:
        return False
    return not ((a is None and b is True) or (a is True and b is None))


def _strike(run) -> str:
    rPr = run._r.rPr
    return "noStrike" if rPr is None else rPr.get("strike", "noStrike")


def _bullets_match(slide1, slide2) -> bool:
    bullets1, bullets2 = _bullets(slide1), _bullets(slide2)
    if bullets1 is None or bullets2 is None:  # OSWorld's extraction fails on an empty <a:t/>: no check
        return True
    if len(bullets1) != len(bullets2):
        return False
    for (level1, char1, text1), (level2, char2, text2) in zip(bullets1, bullets2):
        if text1 != text2 or char1 != char2:
            return False
        if (char1, char2) != ("No Bullet", "No Bullet") and level1 != level2:
            return False
    return True


def _bullets(slide) -> list | None:
    """(level, bullet character, text) of every paragraph of the slide that has text; an unset level is
    "0"."""
    bullets = []
    for paragraph in slide._element.iter(f"{{{NS['a']}}}p"):
        texts = [t.text for t in paragraph.iter(f"{{{NS['a']}}}t")]
        if None in texts:
            return None
        text = "".join(texts)
        if not text.strip():
            continue
        pPr = paragraph.find("a:pPr", NS)
        if pPr is None:
            bullets.append(("No Level", "No Bullet", text))
        else:
            char = pPr.find("a:buChar", NS)
            bullets.append((pPr.get("lvl", "0"), "No Bullet" if char is None else char.get("char"), text))
    return bullets


def _text_shapes(shapes) -> list:
    """Shapes with a text frame, descending into groups."""
    found = []
    for shape in shapes:
        if hasattr(shape, "text") and hasattr(shape, "text_frame"):
            found.append(shape)
        if hasattr(shape, "shapes"):
            found += _text_shapes(shape.shapes)
    return found


def _nested_text_shapes_match(slide1, slide2, examine: _Options) -> bool:
    shapes1, shapes2 = _text_shapes(slide1.shapes), _text_shapes(slide2.shapes)
    if len(shapes1) != len(shapes2):
        return False
    if not examine("alignment"):
        return True
    for shape1, shape2 in zip(shapes1, shapes2):
        if examine("text") and shape1.text.strip() != shape2.text.strip():
            return False
        if len(shape1.text_frame.paragraphs) != len(shape2.text_frame.paragraphs):
            return False
        if any(_alignment(p1) != _alignment(p2) for p1, p2 in _paragraph_pairs(shape1, shape2)):
            return False
    return True


# --- one-task presentation checks ---------------------------------------------------------------------------

@metric(needs=(PPTX,))
def check_slide_orientation_Portrait(pptx_file: str | None, **options) -> float:
    if not pptx_file:
        return 0.0
    try:
        presentation = _open(pptx_file)
    except Exception:                                  # noqa: BLE001
        return 0.0
    return float(presentation.slide_width < presentation.slide_height)


@metric(needs=(PPTX,), rule_keys={"rgb", "original_rgb"})
def evaluate_presentation_fill_to_rgb_distance(pptx_file: str | None, rules: dict, **options) -> float:
    """1 - the mean over slides of each background's RGB distance to `rgb` (0..1); a slide left at
    `original_rgb`, or without a solid colour, counts as the full distance 1."""
    if not pptx_file:
        return 0.0
    try:
        slides = list(_open(pptx_file).slides)
        distances = [_fill_distance(slide, rules["rgb"], rules.get("original_rgb")) for slide in slides]
        return 1 - sum(distances) / len(distances)
    except Exception:                                  # noqa: BLE001  (unreadable, or no slides)
        return 0.0


def _fill_distance(slide, rgb, original_rgb) -> float:
    from pptx.enum.dml import MSO_FILL  # optional: docs extra
    fill = _background_fill(slide)
    if fill.type != MSO_FILL.SOLID or not hasattr(fill.fore_color, "rgb"):
        return 1.0
    color = tuple(fill.fore_color.rgb)
    if original_rgb is not None and color == tuple(original_rgb):
        return 1.0
    return math.dist(color, rgb) / math.dist((0, 0, 0), (255, 255, 255))


@metric(needs=(PPTX,))
def check_image_stretch_and_center(modified_pptx: str | None, original_pptx: str | None, **options) -> float:
    """The first picture of the original's first slide fills the modified first slide, centred, within half an
    inch."""
    if not modified_pptx or not original_pptx:
        return 0.0
    try:
        original, modified = _open(original_pptx), _open(modified_pptx)
        return float(_stretched_and_centred(original, modified))
    except Exception:                                  # noqa: BLE001
        return 0.0


def _stretched_and_centred(original, modified) -> bool:
    from pptx.enum.shapes import MSO_SHAPE_TYPE  # optional: docs extra

    def pictures(prs):
        return [s for s in prs.slides[0].shapes if s.shape_type == MSO_SHAPE_TYPE.PICTURE]
    originals = pictures(original)
    if not originals:
        return False
    same_image = [p for p in pictures(modified) if p.image.blob == originals[0].image.blob]
    if not same_image:
        return False
    image, width, height, slack = (same_image[-1], original.slide_width, original.slide_height,
                                   EMU_PER_INCH / 2)
    return (abs(image.width - width) <= slack and abs(image.height - height) <= slack
            and abs(image.left - (width - image.width) / 2) <= slack
            and abs(image.top - (height - image.height) / 2) <= slack)


@metric(rule_keys={"slide_idx", "transition_type"})
def check_transition(pptx_file: str | None, rules: dict, **options) -> float:
    """ppt/slides/slide{slide_idx + 1}.xml (the part's name, as OSWorld reads it) has a transition of that
    type."""
    if not pptx_file:
        return 0.0
    try:
        with zipfile.ZipFile(pptx_file) as archive:
            root = ET.fromstring(archive.read(f"ppt/slides/slide{rules['slide_idx'] + 1}.xml"))
    except (OSError, KeyError, zipfile.BadZipFile, ET.ParseError):
        return 0.0
    transition = root.find(".//p:transition", NS)
    return float(transition is not None
                 and transition.find(f".//p:{rules['transition_type']}", NS) is not None)


@metric(rule_keys={"color"})
def check_page_number_colors(pptx_file: str | None, rules: dict, **options) -> float:
    """OSWorld's reading of the slide-number colour: the next-to-last sRGB solid fill of the first slide
    master.

    Its hex parsing is kept too: it skips the first digit (as if the value began with '#'), so red is
    digits 2-3, green 4-5 and blue the last digit alone; a colour it does not know passes.
    """
    if not pptx_file:
        return 0.0
    try:
        with zipfile.ZipFile(pptx_file) as archive:
            root = ET.fromstring(archive.read("ppt/slideMasters/slideMaster1.xml"))
        value = root.findall(".//a:solidFill//a:srgbClr", NS)[-2].get("val")
        red, green, blue = int(value[1:3], 16), int(value[3:5], 16), int(value[5:7], 16)
    except (OSError, KeyError, IndexError, TypeError, ValueError, zipfile.BadZipFile, ET.ParseError):
        return 0.0
    threshold = 50
    tests = {
        "red": red > green + threshold and red > blue + threshold,
        "blue": blue > green + threshold and blue > red + threshold,
        "green": green > red + threshold and green > blue + threshold,
        "black": red < threshold and green < threshold and blue < threshold,
    }
    return float(tests.get(rules["color"], True))


# --- LibreOffice settings and window state ------------------------------------------------------------------

@metric()
def check_presenter_console_disable(xcu_file: str | None, **options) -> float:
    """The first EnablePresenterScreen setting is false."""
    if not xcu_file:
        return 0.0
    try:
        values = registry_values(xcu_file, "/org.openoffice.Office.Impress/Misc/Start",
                                 "EnablePresenterScreen")
        return float(bool(values) and values[0].lower() == "false")
    except (OSError, ET.ParseError, AttributeError):
        return 0.0


@metric(rule_keys={"minutes"})
def check_auto_saving_time(xcu_file: str | None, rules: dict, **options) -> float:
    """The last AutoSaveTimeIntervall under Common/Save/Document equals `minutes`."""
    if not xcu_file:
        return 0.0
    try:
        values = registry_values(xcu_file, "/org.openoffice.Office.Common/Save/Document",
                                 "AutoSaveTimeIntervall")
        return float(bool(values) and int(values[-1]) == rules["minutes"])
    except (OSError, ET.ParseError, TypeError, ValueError):
        return 0.0


@metric()
def check_left_panel(accessibility_tree: str | None, **options) -> float:
    """Impress's slide panel is open when the accessibility tree has its 'Slides View' document frame."""
    if not accessibility_tree:
        return 0.0
    try:
        root = ET.fromstring(accessibility_tree)
    except ET.ParseError:
        return 0.0
    return float(any(frame.get("name") == "Slides View" for frame in root.iter("document-frame")))



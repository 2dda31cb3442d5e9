"""Builders of the files the metric tests score: shared by tests/evaluation (our expectations) and
tests/differential (the same inputs through OSWorld's own metrics). Optional libraries are imported on use,
so a test skips cleanly where its extra is absent."""
from __future__ import annotations

import importlib.util
import io
import tarfile
import zipfile
from pathlib import Path

import pytest

FRAME = b"\xff\xfb\x90\x64" + bytes(413)                  # one silent MPEG-1 layer III frame

TOC = """<?xml version='1.0' encoding='utf-8'?>
<ncx xmlns="http://www.daisy.org/z3986/2005/ncx/">
<navMap>
<navPoint id="{id}"><navLabel><text>Chapter 1</text></navLabel></navPoint>
</navMap>
</ncx>
"""
OPF = """<?xml version='1.0' encoding='utf-8'?>
<package xmlns="http://www.idpf.org/2007/opf">
<metadata><dc:title>Pass Through</dc:title><dc:identifier id="id">{id}</dc:identifier></metadata>
</package>
"""
YELLOW = ('<style:style style:name="T1" style:family="text">'
          '<style:text-properties fo:background-color="#ffff00"/></style:style>')


def write(path, text: str) -> str:
    path.write_text(text, encoding="utf-8")
    return str(path)


def zip_of(path, files: dict) -> str:
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return str(path)


def tar_of(path, files: dict) -> str:
    with tarfile.open(path, "w:gz") as archive:
        for name, text in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(text.encode())
            archive.addfile(info, io.BytesIO(text.encode()))
    return str(path)


def epub_of(path, chapters: dict, book_id: str = "uuid-1", **extra) -> str:
    members = {"mimetype": "application/epub+zip", "toc.ncx": TOC.format(id=book_id),
               "content.opf": OPF.format(id=book_id), **chapters, **extra}
    return zip_of(path, members)


def workbook(path: Path, sheets: dict[str, list[list]]) -> str:
    openpyxl = pytest.importorskip("openpyxl", reason="the docs extra is not installed")
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
    book.save(path)
    return str(path)


def styled_book(path: Path, build) -> str:
    """A one-sheet workbook ("Sheet1") that `build(sheet)` fills in."""
    openpyxl = pytest.importorskip("openpyxl", reason="the docs extra is not installed")
    book = openpyxl.Workbook()
    book.active.title = "Sheet1"
    build(book.active)
    book.save(path)
    return str(path)


def cells_book(path: Path) -> str:
    """A bold white-on-blue merged title A1:C1 and a number in E3 (check_cell)."""
    from openpyxl.styles import Font, PatternFill
    def build(sheet):
        sheet["A1"] = "Summary"
        sheet["A1"].font = Font(bold=True, color="FFFFFFFF")
        sheet["A1"].fill = PatternFill("solid", fgColor="FF0000FF")
        sheet["E3"] = 191.66671
        sheet.merge_cells("A1:C1")
    return styled_book(path, build)


FUZZY_RULES = [{"range": ["A2:A2"], "type": "exact_match"},
               {"range": ["A1:A1"], "type": "exact_match", "ignore_case": True},
               {"range": ["B2:B2"], "type": "fuzzy_match", "threshold": 85, "normalization": [["St",
                                                                                               "Street"]],
                "ignore_case": True},
               {"range": ["C2:C2"], "type": "includes", "trim_leadings": "+ ", "ignore_chars": " ()-"}]


def fuzzy_books(tmp_path) -> tuple[str, str]:
    """(gold, close): an address table and one that differs only in what FUZZY_RULES forgive."""
    gold = styled_book(tmp_path / "gold.xlsx", lambda s: [s.append(row) for row in (
        ["Name", "Street", "Phone"], ["Cafe", "12 Main Street", "1234567"])])
    close = styled_book(tmp_path / "close.xlsx", lambda s: [s.append(row) for row in (
        ["name", "Street", "Phone"], ["Cafe", "12 main St", "+ (123) 456-7"])])
    return gold, close


def chart_book(path: Path, kind, title: str, direction: str = "col") -> str:
    """Two rows of data and one chart of `kind` (an openpyxl chart class), this title and bar direction."""
    from openpyxl.chart import BarChart, Reference
    def build(sheet):
        for row in (["a", 1], ["b", 2]):
            sheet.append(row)
        chart = kind()
        chart.add_data(Reference(sheet, min_col=2, min_row=1, max_row=2))
        chart.title = title
        if direction and kind is BarChart:
            chart.type = direction
        sheet.add_chart(chart, "D2")
    return styled_book(path, build)


def coloured_book(path: Path, color: str) -> str:
    from openpyxl.styles import Font
    def build(sheet):
        sheet["A1"], sheet["A2"] = 1, 2
        sheet["A2"].font = Font(color=color)
    return styled_book(path, build)


def conditional_book(path: Path) -> str:
    from openpyxl.formatting.rule import CellIsRule
    from openpyxl.styles import PatternFill
    def build(sheet):
        sheet["A1"] = 1
        sheet.conditional_formatting.add("A1:A9", CellIsRule(operator="greaterThan", formula=["0"],
                                                             fill=PatternFill(bgColor="FFFF0000")))
    return styled_book(path, build)


def sheet_settings(sheet, hidden=True, freeze="B2", zoom=200, choices='"Pass,Fail,Held"'):
    """A hidden row 3, frozen panes, a zoom and a list validation on D2:D40 (SETTINGS_RULES check them)."""
    from openpyxl.worksheet.datavalidation import DataValidation
    sheet.append(["x"])
    sheet.row_dimensions[3].hidden = hidden
    sheet.freeze_panes = freeze
    sheet.sheet_view.zoomScale = zoom
    validation = DataValidation(type="list", formula1=choices)
    validation.add("D2:D40")
    sheet.add_data_validation(validation)


SETTINGS_RULES = [
    {"type": "row_props", "sheet_idx0": 0, "sheet_idx1": "EI0", "props": ["hidden"]},
    {"type": "freeze", "sheet_idx0": 0, "sheet_idx1": "EI0"},
    {"type": "zoom", "sheet_idx": 0, "method": "lt", "ref": 260},
    {"type": "data_validation", "sheet_idx": 0, "dv_props": [{
        "ranges": {"method": "spreadsheet_range", "ref": ["D2:D29", "D1:D1048576"]},
        "type": {"method": "eq", "ref": "list"},
        "formula1": {"method": "str_set_eq", "ref": ["Pass", "Fail", "Held"]}}]},
]


def cities_book(path: Path, *values) -> str:
    """Conference cities down column C from row 2."""
    return styled_book(path, lambda sheet: [sheet.cell(row=2 + i, column=3, value=value)
                                            for i, value in enumerate(values)])


def document(path: Path, *paragraphs: str) -> str:
    docx = pytest.importorskip("docx", reason="the docs extra is not installed")
    doc = docx.Document()
    for text in paragraphs:
        doc.add_paragraph(text)
    doc.save(path)
    return str(path)


def table_document(path: Path, rows: list[list[str]]) -> str:
    """A document holding one table with these cell texts."""
    docx = pytest.importorskip("docx", reason="the docs extra is not installed")
    doc = docx.Document()
    table = doc.add_table(rows=len(rows), cols=len(rows[0]))
    for i, row in enumerate(rows):
        for j, text in enumerate(row):
            table.cell(i, j).text = text
    doc.save(path)
    return str(path)


PLACES = {"expected": ["福田区正义街1号", "福田区振兴路108号", "福田区滨河大道2033号",
                       "福田区香梅路2002-4号"]}
TRAIN_RECORDS = {"orig": ("06:00:01, T1, S1, 1", "06:00:02, T1, S2, 1", "06:01:00, T2, S1, 2"),
                 "gold": ("06:00:01, T1, S1, 1", "06:01:00, T2, S1, 2"),
                 "kept": ("06:00:02, T1, S2, 1", "06:01:00, T2, S1, 2"),
                 "dup": ("06:00:01, T1, S1, 1", "06:00:02, T1, S2, 1", "06:01:00, T2, S1, 2")}
REFERENCES = {"refs": ("Body", "References", "Smith, J. (2020). A study.", "Lee, K. (2019)."),
              "wrong": ("Body", "References", "Zhao (1999) Other things.", "Lee, K. (2019).")}
ODT_PARAGRAPHS = {"gold": ("<text:p>Call <text:span>Anna</text:span> now</text:p>", ""),
                  "plain": ('<text:p>Call <text:span text:style-name="T2">Anna</text:span> now</text:p>',
                            YELLOW),
                  "marked": ('<text:p>Call <text:span text:style-name="T1">Anna</text:span> now</text:p>',
                             YELLOW),
                  "other": ("<text:p>Call Bob now</text:p>", "")}


def odt(path: Path, paragraphs_xml: str, styles_xml: str = "") -> str:
    """A minimal .odt whose body holds `paragraphs_xml` and whose automatic styles are `styles_xml`."""
    namespaces = ('xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
                  'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
                  'xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0" '
                  'xmlns:fo="urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0"')
    manifest = ('<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0">'
                '<manifest:file-entry manifest:full-path="/" '
                'manifest:media-type="application/vnd.oasis.opendocument.text"/>'
                '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
                '</manifest:manifest>')
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.text")
        archive.writestr("META-INF/manifest.xml", manifest)
        archive.writestr("content.xml", f'<office:document-content {namespaces}><office:automatic-styles>'
                         f'{styles_xml}</office:automatic-styles><office:body><office:text>{paragraphs_xml}'
                         '</office:text></office:body></office:document-content>')
    return str(path)


def scene(size=(64, 48), seed=0):
    """A colourful, structured picture: gradients plus random blocks."""
    np = pytest.importorskip("numpy", reason="the docs extra is not installed")
    from PIL import Image
    rng = np.random.default_rng(seed)
    width, height = size
    x, y = np.meshgrid(np.linspace(0, 1, width), np.linspace(0, 1, height))
    pixels = np.stack([x * 200 + 20, y * 180 + 30, (1 - x) * 120 + 60], axis=2)
    for _ in range(6):
        left, top = rng.integers(0, width - 8), rng.integers(0, height - 8)
        pixels[top:top + 8, left:left + 8] = rng.integers(0, 255, 3)
    return Image.fromarray(pixels.astype(np.uint8))


def save(image, tmp_path, name: str) -> str:
    image.save(tmp_path / name)
    return str(tmp_path / name)


# (metric, PIL.ImageEnhance class, a factor it accepts, one it refuses): the GIMP adjustment checks
ENHANCEMENTS = [("check_brightness_decrease_and_structure_sim", "Brightness", 0.7, 1.2),
                ("check_saturation_increase_and_structure_sim", "Color", 1.2, 0.8),
                ("check_contrast_increase_and_structure_sim", "Contrast", 1.3, 0.7)]


def enhanced(factor: float, kind: str):
    from PIL import ImageEnhance
    return getattr(ImageEnhance, kind)(scene()).enhance(factor)


def transparent_margins(image, canvas=(200, 140), at=(30, 20)):
    """`image` pasted on a transparent canvas."""
    from PIL import Image
    padded = Image.new("RGBA", canvas, (0, 0, 0, 0))
    padded.paste(image, at)
    return padded


def on_background(background, size=(40, 40)):
    """A black square on this background colour."""
    from PIL import Image, ImageDraw
    image = Image.new("RGB", size, background)
    ImageDraw.Draw(image).rectangle((10, 10, 25, 25), fill=(0, 0, 0))
    return image


def triangle_at(left: int, top: int):
    """A yellow triangle on white, plus one blue pixel (a rarer colour: OSWorld takes the second rarest)."""
    from PIL import Image, ImageDraw
    image = Image.new("RGB", (100, 80), (255, 255, 255))
    ImageDraw.Draw(image).polygon([(left, top + 20), (left + 20, top + 20), (left + 10, top)], fill=(255, 200,
                                                                                                     0))
    image.putpixel((0, 0), (0, 0, 255))
    return image


def text_at(left: int):
    """"Hello" in black on a white strip, starting at `left`."""
    from PIL import Image, ImageDraw
    image = Image.new("RGB", (200, 50), "white")
    ImageDraw.Draw(image).text((left, 10), "Hello", fill="black")
    return image


def one_pixel_changed(image):
    image.putpixel((5, 5), (1, 2, 3))
    return image


GIMPRC = """# GIMP gimprc
(theme "Light")
(undo-levels 100)
(session-info "toolbox"
    (position 10 20))
(default-view
    (show-menubar yes))
"""


def picture(seed: int):
    """A structured picture: a gradient with a few random blocks."""
    np = pytest.importorskip("numpy")
    from PIL import Image
    rng = np.random.default_rng(seed)
    x, y = np.meshgrid(np.linspace(0, 1, 96), np.linspace(0, 1, 64))
    pixels = np.stack([x * 200, y * 200, (1 - x) * 150], axis=2)
    for _ in range(8):
        left, top = rng.integers(0, 80), rng.integers(0, 48)
        pixels[top:top + 16, left:left + 16] = rng.integers(0, 255, 3)
    return Image.fromarray(pixels.astype(np.uint8))


def pdf(path, *pages: str) -> str:
    pymupdf = pytest.importorskip("pymupdf")
    document = pymupdf.open()
    for text in pages:
        document.new_page().insert_text((72, 72), text)
    document.save(path)
    return str(path)


def pdf_bytes(text: str) -> bytes:
    pymupdf = pytest.importorskip("pymupdf")
    document = pymupdf.open()
    document.new_page().insert_text((72, 72), text)
    return document.tobytes()


def pdf_with_pictures(path, *pictures) -> str:
    pymupdf = pytest.importorskip("pymupdf")
    document = pymupdf.open()
    for image in pictures:
        data = io.BytesIO()
        image.save(data, format="PNG")
        document.new_page().insert_image(pymupdf.Rect(72, 72, 360, 264), stream=data.getvalue())
    document.save(path)
    return str(path)


def mp3(path, **tags) -> str:
    path.write_bytes(FRAME * 4)
    if tags:
        easyid3 = pytest.importorskip("mutagen.easyid3")
        id3 = easyid3.EasyID3()
        for name, value in tags.items():
            id3[name] = value
        id3.save(path)
    return str(path)


BLANK = 6          # the default template's blank layout


class Deck:
    """Builds .pptx files that differ from a base deck by one edit."""

    def __init__(self, tmp_path, slides: int = 1):
        self.tmp_path, self.slides, self.count = tmp_path, slides, 0

    def __call__(self, *edits) -> str:
        pptx = pytest.importorskip("pptx", reason="the docs extra is not installed")
        prs = pptx.Presentation()
        for _ in range(self.slides):
            prs.slides.add_slide(prs.slide_layouts[BLANK])
        base(prs)
        for edit in edits:
            edit(prs)
        self.count += 1
        path = self.tmp_path / f"deck{self.count}.pptx"
        prs.save(path)
        return str(path)


def base(prs):
    """One text box with two paragraphs, two runs in the first."""
    from pptx.util import Inches
    box = prs.slides[0].shapes.add_textbox(Inches(1), Inches(1), Inches(4), Inches(1))
    first = box.text_frame.paragraphs[0]
    for text in ("Hello ", "world"):
        first.add_run().text = text
    box.text_frame.add_paragraph().add_run().text = "Second"


def first_runs(prs):
    return prs.slides[0].shapes[0].text_frame.paragraphs[0].runs


def paragraph(prs, index=0):
    return prs.slides[0].shapes[0].text_frame.paragraphs[index]


def solid_background(slide, rgb):
    slide.background.fill.solid()
    slide.background.fill.fore_color.rgb = rgb


def _examined_edits():
    """(compare_pptx_files option, an edit of the base deck that option notices)."""
    from pptx.dml.color import RGBColor
    from pptx.enum.text import PP_ALIGN
    from pptx.util import Inches, Pt
    return [
        ("examine_font_name", lambda prs: setattr(first_runs(prs)[0].font, "name", "Arial")),
        ("examine_font_size", lambda prs: setattr(first_runs(prs)[0].font, "size", Pt(30))),
        ("examine_font_bold", lambda prs: setattr(first_runs(prs)[0].font, "bold", True)),
        ("examine_font_italic", lambda prs: setattr(first_runs(prs)[0].font, "italic", True)),
        ("examine_font_underline", lambda prs: setattr(first_runs(prs)[0].font, "underline", True)),
        ("examine_strike_through", lambda prs: first_runs(prs)[0]._r.get_or_add_rPr().set("strike",
                                                                                          "sngStrike")),
        ("examine_alignment", lambda prs: setattr(paragraph(prs), "alignment", PP_ALIGN.CENTER)),
        ("examine_indent", lambda prs: setattr(paragraph(prs, 1), "level", 2)),
        ("examine_shape", lambda prs: setattr(prs.slides[0].shapes[0], "left", Inches(2))),
        ("examine_note", lambda prs: setattr(prs.slides[0].notes_slide.notes_text_frame, "text", "say hi")),
        ("examine_background_color", lambda prs: solid_background(prs.slides[0], RGBColor(0, 0, 255))),
    ]


EXAMINED_EDITS = _examined_edits() if importlib.util.find_spec("pptx") else []



# Edits of the base deck (Deck) that compare_pptx_files' leniencies and options concern.
def font_colour(rgb):
    return lambda prs: setattr(first_runs(prs)[0].font.color, "rgb", rgb)


def explicit_defaults(prs):
    """Unset and off alike for bold, unset and "no underline", levels 0 and 1, unset alignment and left."""
    from pptx.enum.text import PP_ALIGN
    first_runs(prs)[0].font.bold = False
    first_runs(prs)[0].font.underline = False
    paragraph(prs, 1).level = 1
    paragraph(prs).alignment = PP_ALIGN.LEFT


def theme_colour(prs):
    from pptx.enum.dml import MSO_THEME_COLOR
    first_runs(prs)[0].font.color.theme_color = MSO_THEME_COLOR.ACCENT_1


def moved_by(factor: float = 1.0, emu: int = 0):
    """The text box moved right: to factor * 1 inch + emu."""
    from pptx.util import Emu, Inches
    return lambda prs: setattr(prs.slides[0].shapes[0], "left", Emu(int(Inches(1) * factor) + emu))


def empty_box(left_inches: float):
    from pptx.util import Inches
    return lambda prs: prs.slides[0].shapes.add_textbox(Inches(left_inches), 0, Inches(1), Inches(1))


def merged_runs(prs):
    runs = first_runs(prs)
    runs[0].text = "Hello world"
    runs[1]._r.getparent().remove(runs[1]._r)


def bullet(prs):
    from lxml import etree
    from pptx.oxml.ns import qn
    etree.SubElement(paragraph(prs, 1)._p.get_or_add_pPr(), qn("a:buChar"), char="•")


def empty_text_element(prs):
    """A bullet, and an empty <a:t/> (OSWorld's bullet reading fails on it and skips the check)."""
    from lxml import etree
    from pptx.oxml.ns import qn
    bullet(prs)
    first_runs(prs)[0]._r.remove(first_runs(prs)[0]._r.find(qn("a:t")))
    etree.SubElement(first_runs(prs)[0]._r, qn("a:t"))


def empty_gold_run(prs):
    from pptx.oxml.ns import qn
    empty_text_element(prs)
    paragraph(prs, 1)._p.remove(paragraph(prs, 1)._p.find(qn("a:pPr")))


def slide_table(rows, bold=False):
    from pptx.util import Inches
    def edit(prs):
        shape = prs.slides[0].shapes.add_table(len(rows), len(rows[0]), Inches(1), Inches(3), Inches(4),
                                               Inches(1))
        for i, row in enumerate(rows):
            for j, text in enumerate(row):
                run = shape.table.cell(i, j).text_frame.paragraphs[0].add_run()
                run.text, run.font.bold = text, bold or None
    return edit


def grouped(text):
    from pptx.util import Inches
    def edit(prs):
        group = prs.slides[0].shapes.add_group_shape()
        group.shapes.add_textbox(Inches(1), Inches(4), Inches(2), Inches(1)).text_frame.text = text
    return edit


def red_picture(tmp_path) -> str:
    from PIL import Image
    path = tmp_path / "picture.png"
    Image.new("RGB", (40, 30), "red").save(path)
    return str(path)


def placed_picture(picture: str, top_inches: float, height_inches: float = 1):
    """The picture on slide 2 (of a two-slide deck) at this height."""
    from pptx.util import Inches
    return lambda prs: prs.slides[1].shapes.add_picture(picture, Inches(1), Inches(top_inches), Inches(2),
                                                        Inches(height_inches))


def small_picture(picture: str):
    """The picture on slide 1 at 1 inch, 2 by 1 inches (check_image_stretch_and_center's original)."""
    from pptx.util import Inches
    return lambda prs: prs.slides[0].shapes.add_picture(picture, Inches(1), Inches(1), Inches(2), Inches(1))


def full_slide_picture(picture: str):
    return lambda prs: prs.slides[0].shapes.add_picture(picture, 0, 0, prs.slide_width, prs.slide_height)


def dissolve(prs):
    """A dissolve transition on the first slide."""
    from lxml import etree
    from pptx.oxml.ns import qn
    transition = etree.SubElement(prs.slides[0]._element, qn("p:transition"))
    etree.SubElement(transition, qn("p:dissolve"))


def portrait(prs):
    prs.slide_width, prs.slide_height = prs.slide_height, prs.slide_width


def backgrounds(rgb):
    """Every slide's background filled with this RGBColor."""
    return lambda prs: [solid_background(slide, rgb) for slide in prs.slides]


def presentation_with_master(tmp_path, *colors: str) -> str:
    fills = "".join(f'<a:solidFill><a:srgbClr val="{color}"/></a:solidFill>' for color in colors)
    master = ('<p:sldMaster xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" '
              f'xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main">{fills}</p:sldMaster>')
    path = tmp_path / f"master{len(list(tmp_path.iterdir()))}.pptx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("ppt/slideMasters/slideMaster1.xml", master)
    return str(path)


PRESENTER = ("/org.openoffice.Office.Impress/Misc/Start", "EnablePresenterScreen")
AUTOSAVE = ("/org.openoffice.Office.Common/Save/Document", "AutoSaveTimeIntervall")


def registry(tmp_path, path: str, name: str, value: str) -> str:
    """LibreOffice's registrymodifications.xcu holding one setting."""
    xcu = tmp_path / "registrymodifications.xcu"
    xcu.write_text('<?xml version="1.0" encoding="UTF-8"?>'
                   '<oor:items xmlns:oor="http://openoffice.org/2001/registry">'
                   f'<item oor:path="{path}"><prop oor:name="{name}" oor:op="fuse">'
                   f'<value>{value}</value></prop></item></oor:items>')
    return str(xcu)


FILTERS = '''version="9"
logging="no"
name="Promotions"
enabled="yes"
type="17"
action="Move to folder"
actionValue="mailbox://nobody@Local%20Folders/Promotions"
condition="AND (subject,contains,discount) AND (from,is,\\"shop\\")"
name="Forward all"
enabled="no"
type="17"
action="Forward"
actionValue="anonym-x2024@gmail.com"
condition="ALL"
'''


VLCRC = """[qt] # Qt interface
# Show background cone (boolean)
#qt-bgcone=1
qt-max-volume=200
#qt-slider-colours=153;210;153;20;210;20;255;199;15;245;39;29
global-key-play-pause=
#input-record-path=
input-record-path=/home/user/Desktop
"""


RICK = "Rick Astley - Never Gonna Give You Up (Official Music Video).mp4"


HLS = "https://devstreaming-cdn.apple.com/videos/streaming/examples/img_bipbop_adv_example_fmp4/master.m3u8"


def status_xml(state: str, **meta: str) -> str:
    infos = "".join(f'<info name="{name}">{value}</info>' for name, value in meta.items())
    return (f"<root><fullscreen>false</fullscreen><state>{state}</state><information>"
            f'<category name="meta">{infos}</category>'
            '<category name="Stream 0"><info name="Codec">H264</info></category></information></root>')


def a11y_tree(body: str, attr_uri: str = "https://accessibility.ubuntu.example.org/ns/attributes") -> str:
    """A tree shaped as OSWorld's server writes it: roles as tags, `name` plain, attributes in the attr
    namespace."""
    return (f'<desktop-frame xmlns:attr="{attr_uri}" '
            'xmlns:st="https://accessibility.ubuntu.example.org/ns/state">'
            f'<application name="Thunderbird">{body}</application><application name="gnome-shell"/>'
            '</desktop-frame>')


def pills(*addresses: str) -> str:
    return ('<tool-bar attr:id="MsgHeadersToolbar"><label name="From"/><label name="To"/>' +
            "".join(f'<section attr:class="address-pill"><label attr:class="pill-label" name="{a}"/>'
                    '</section>' for a in addresses) + "</tool-bar>")


# --- Writer documents with formatting (the writer_formatting metrics) ---------------------------------------
def saved(path: Path, *paragraphs: str, build=None) -> str:
    """A document with these paragraphs; `build(doc)` then formats it."""
    docx = pytest.importorskip("docx", reason="the docs extra is not installed")
    doc = docx.Document()
    for text in paragraphs:
        doc.add_paragraph(text)
    if build:
        build(doc)
    doc.save(path)
    return str(path)


def spacing(*values):
    """Sets the line spacing of the paragraphs in order."""
    return lambda doc: [setattr(p.paragraph_format, "line_spacing", v) for p, v in zip(doc.paragraphs,
                                                                                       values)]


def picture_document(tmp_path, name: str, color: str) -> str:
    """A document holding one 4x4 picture of this colour."""
    from PIL import Image
    image = tmp_path / f"{name}.png"
    Image.new("RGB", (4, 4), color).save(image)
    return saved(tmp_path / f"{name}.docx", "x", build=lambda doc: doc.add_picture(str(image)))


def centered(doc):
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    doc.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER


def footer(text: str):
    return lambda doc: setattr(doc.sections[0].footer.paragraphs[0], "text", text)


def runs(**font):
    """Sets these font attributes on every run."""
    def build(doc):
        for paragraph in doc.paragraphs:
            for run in paragraph.runs:
                for name, value in font.items():
                    setattr(run.font, name, value)
    return build


def tabbed(path: Path, position: float) -> str:
    """"one two three<tab>the rest" with a right tab stop at `position` points."""
    from docx.enum.text import WD_TAB_ALIGNMENT
    from docx.shared import Pt
    def build(doc):
        doc.paragraphs[0].paragraph_format.tab_stops.add_tab_stop(Pt(position), WD_TAB_ALIGNMENT.RIGHT)
    return saved(path, "one two three\tthe rest", build=build)


def page_breaks(count: int):
    from docx.enum.text import WD_BREAK
    return lambda doc: [doc.paragraphs[0].add_run().add_break(WD_BREAK.PAGE) for _ in range(count)]


DEFAULT_FONT_XCU = ('<oor:items xmlns:oor="http://openoffice.org/2001/registry">'
                    '<item oor:path="/org.openoffice.Office.Writer/DefaultFont"><prop oor:name="Standard" '
                    'oor:op="fuse"><value>Times New Roman</value></prop></item></oor:items>')


def words_table(path: Path, vowel_color) -> str:
    """A table of "apple" in `vowel_color` (an RGBColor) and "dog" in blue."""
    from docx.shared import RGBColor
    def build(doc):
        cells = doc.add_table(rows=1, cols=2).rows[0].cells
        for cell, word, color in ((cells[0], "apple", vowel_color), (cells[1], "dog", RGBColor(0, 0, 255))):
            cell.paragraphs[0].add_run(word).font.color.rgb = color
    return saved(path, "Words", build=build)


def metrics_of(module) -> dict:
    """The metrics a module declares (registry.py), by name: what a test of that module's metrics covers."""
    from daemon.evaluation import metrics, registry  # noqa: F401  (importing metrics declares them all)
    return {name: declared.run for name, declared in registry.DECLARED["metric"].items()
            if declared.run.__module__ == module.__name__}

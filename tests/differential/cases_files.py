"""Inputs for the Writer, PDF, image, audio-tag and HTML metrics: the fixtures of tests/evaluation/
test_documents.py, test_pdfs.py, test_images.py, test_audio_tags.py and test_html_files.py (shared
builders)."""
from __future__ import annotations

from tests.evaluation.builders import (
    ENHANCEMENTS,
    GIMPRC,
    ODT_PARAGRAPHS,
    PLACES,
    REFERENCES,
    TRAIN_RECORDS,
    document,
    enhanced,
    mp3,
    odt,
    on_background,
    one_pixel_changed,
    pdf,
    pdf_with_pictures,
    picture,
    save,
    scene,
    table_document,
    text_at,
    transparent_margins,
    triangle_at,
    write,
)

from .harness import case


def pair(metric: str, label: str, result, expected, **options):
    """`result` and `expected` are builders taking tmp_path (or None)."""
    def build(tmp):
        return [result(tmp) if result else None, expected(tmp) if expected else None], options
    return case(metric, label, build)


def doc(name: str, *paragraphs: str):
    return lambda tmp: document(tmp / name, *paragraphs)


GOLD_DOC = doc("gold.docx", "Hello  world", "Second line")
DOCX = [
    pair("compare_docx_files", "blanks", doc("s.docx", "Hello world ", "Second   line"), GOLD_DOC),
    pair("compare_docx_files", "blanks-strict", doc("s.docx", "Hello world ", "Second   line"), GOLD_DOC,
         ignore_blanks=False),
    pair("compare_docx_files", "case", doc("u.docx", "HELLO world", "second line"), GOLD_DOC),
    pair("compare_docx_files", "ignore-case", doc("u.docx", "HELLO world", "second line"), GOLD_DOC,
         ignore_case=True),
    pair("compare_docx_files", "order", doc("w.docx", "Second line", "Hello  world"), GOLD_DOC,
         ignore_blanks=False),
    pair("compare_docx_files", "ignore-order", doc("w.docx", "Second line", "Hello  world"), GOLD_DOC,
         ignore_blanks=False, ignore_order=True),
    pair("compare_docx_files", "empty-lines", doc("g.docx", "Hello  world", "", "Second line"), GOLD_DOC,
         ignore_blanks=False),
    pair("compare_docx_files", "delete-empty-lines", doc("g.docx", "Hello  world", "", "Second line"),
         GOLD_DOC,
         ignore_blanks=False, delete_empty_lines=True),
    pair("compare_docx_files", "none", None, GOLD_DOC),
    pair("compare_docx_files", "fuzzy", doc("n.docx", "Hello  world!", "Second line"), GOLD_DOC,
         fuzzy_match=True),
    pair("compare_docx_files", "content-only", doc("n.docx", "Hello  world!", "Second line"), GOLD_DOC,
         content_only=True, ignore_blanks=False),
]


def table(name: str, rows):
    return lambda tmp: table_document(tmp / name, rows)


def odt_file(name: str):
    return lambda tmp: odt(tmp / f"{name}.odt", *ODT_PARAGRAPHS[name])


def records(name: str):
    return doc(f"{name}.docx", *TRAIN_RECORDS[name])


GOLD_TABLE = table("gold.docx", [["a", "b"], ["1", "2"]])
FOX = doc("gold.docx", "The quick brown fox", "jumps over the dog")
NEAR_FOX = doc("near.docx", "The quick brown fox", "jumps over a dog")
GAPS, AB_C = doc("gaps.docx", "a b", "", "c"), doc("gold.docx", "a  b", "c")
REFS = doc("refs.docx", *REFERENCES["refs"])


def places(name: str, *paragraphs: str):
    return case("fuzzy_place_math", name, lambda tmp: ([document(tmp / f"{name}.docx", *paragraphs), PLACES],
                                                       {}))


def train_records(label: str, result: str, *expected: str):
    def build(tmp):
        golds = [records(name)(tmp) for name in expected]
        return [records(result)(tmp), golds if len(golds) > 1 else golds[0]], {}
    return case("compare_unique_train_records", label, build)


MORE_DOCX = [
    pair("compare_docx_tables", "blanks", table("same.docx", [["a ", "b"], ["1", " 2"]]), GOLD_TABLE),
    pair("compare_docx_tables", "other", table("other.docx", [["a", "b"], ["1", "3"]]), GOLD_TABLE),
    pair("compare_docx_tables", "shape", table("shape.docx", [["a", "b", "c"], ["1", "2", "3"]]), GOLD_TABLE),
    pair("compare_docx_tables", "none", None, GOLD_TABLE),
    pair("compare_docx_files", "near", NEAR_FOX, FOX),
    pair("compare_docx_files", "near-fuzzy", NEAR_FOX, FOX, fuzzy_match=True),
    pair("compare_docx_files", "near-fuzzy-099", NEAR_FOX, FOX, fuzzy_match=True, fuzzy_match_threshold=0.99),
    pair("compare_docx_files", "near-fuzzy-09", NEAR_FOX, FOX, fuzzy_match=True, fuzzy_match_threshold=0.9),
    pair("compare_docx_files", "near-content", NEAR_FOX, FOX, content_only=True, ignore_blanks=False),
    pair("compare_docx_files", "near-paragraphs", NEAR_FOX, FOX, fuzzy_match=True, ignore_blanks=False),
    pair("compare_docx_files", "same-content", FOX, FOX, content_only=True),
    pair("compare_docx_files", "odt-plain", odt_file("plain"), odt_file("gold")),
    pair("compare_docx_files", "odt-other", odt_file("other"), odt_file("gold")),
    pair("compare_docx_files", "odt-docx", odt_file("plain"), doc("mixed.docx", "Call Anna now")),
    *[pair("check_highlighted_words", name, odt_file(name), odt_file("gold")) for name in ("plain", "marked",
                                                                                           "other")],
    pair("compare_docx_files_and_ignore_new_lines", "gaps", GAPS, AB_C),
    pair("compare_docx_files_and_ignore_new_lines", "gaps-strict", GAPS, AB_C, ignore_blanks=False),
    pair("compare_references", "same", REFS, REFS, reference_base_result=0.6),
    pair("compare_references", "wrong", doc("wrong.docx", *REFERENCES["wrong"]), REFS,
         reference_base_result=0.6),
    train_records("kept", "kept", "gold", "orig"),
    train_records("duplicated", "dup", "gold", "orig"),
    train_records("one-gold", "kept", "gold"),
    places("exact", "福田区正义街1号", "福田区振兴路108号  福田区滨河大道2033号"),
    places("near", "福田区正义街1号", "福田区振兴路108号", "福田区滨河大道"),
    places("four", *PLACES["expected"]),
    places("other", "a b c"),
]


def pdf_file(name: str, *pages: str):
    return lambda tmp: pdf(tmp / name, *pages)


def pictures(name: str, *images):
    """A PDF of these pictures: a seed of the shared `picture`, or a function making an image."""
    return lambda tmp: pdf_with_pictures(tmp / name,
                                         *[make() if callable(make) else picture(make) for make in images])


def raw(name: str, content: bytes):
    def build(tmp):
        (tmp / name).write_bytes(content)
        return str(tmp / name)
    return build


def missing(name: str):
    return lambda tmp: str(tmp / name)


GOLD_PDF = pdf_file("gold.pdf", "Invoice 243729", "Total: 100 EUR")
GOLD_PICTURES = pictures("gold.pdf", 0, 1)
PDFS = [
    pair("compare_pdfs", "same", pdf_file("same.pdf", "Invoice 243729", "Total: 100 EUR"), GOLD_PDF),
    pair("compare_pdfs", "other", pdf_file("other.pdf", "Invoice 243729", "Total: 999 USD"), GOLD_PDF),
    pair("compare_pdfs", "none", None, GOLD_PDF),
    pair("compare_pdf_images", "same", pictures("same.pdf", 0, 1), GOLD_PICTURES),
    pair("compare_pdf_images", "one-changed", pictures("half.pdf", 0, lambda: picture(2).rotate(180)),
         GOLD_PICTURES),
    pair("compare_pdf_images", "broken", raw("broken.pdf", b"%PDF-1.4 nothing here"), GOLD_PICTURES),
    pair("compare_pdf_images", "missing", missing("missing.pdf"), GOLD_PICTURES),
    case("compare_pdfs", "one-broken", lambda tmp: ([[GOLD_PDF(tmp), raw("broken.pdf",
                                                                         b"%PDF-1.4 nothing here")(tmp)],
                                                      [GOLD_PDF(tmp)] * 2], {})),
    case("check_pdf_pages", "broken", lambda tmp: ([raw("broken.pdf", b"not a pdf")(tmp),
                                                    {"relation": "eq", "ref_value": 1}], {})),
    case("check_pdf_pages", "none", lambda tmp: ([None, {"relation": "eq", "ref_value": 1}], {})),
    pair("compare_pdf_images", "fewer", pictures("one.pdf", 0), GOLD_PICTURES),
    pair("compare_pdf_images", "text-only", pdf_file("text.pdf", "no pictures"), pdf_file("t2.pdf",
                                                                                          "none either")),
    pair("compare_pdf_images", "none", None, GOLD_PICTURES),
    *[case("check_pdf_pages", f"{pages}-{relation}", lambda tmp, pages=pages, relation=relation: (
        [pdf(tmp / "p.pdf", *["page"] * pages), {"relation": relation, "ref_value": 1}], {}))
      for pages in (1, 2) for relation in ("eq", "gt")],
]


def image(name: str, make):
    return lambda tmp: save(make(), tmp, name)


def flipped(seed: int):
    from PIL import Image
    return scene(seed=seed).transpose(Image.Transpose.FLIP_TOP_BOTTOM)


def mirrored():
    from PIL import Image
    return scene().transpose(Image.Transpose.FLIP_LEFT_RIGHT)


GOLD_IMAGE = image("gold.png", scene)
IMAGES = [
    pair("compare_images", "resized", image("big.png", lambda: scene().resize((128, 96))), GOLD_IMAGE),
    pair("compare_images", "other", image("other.png", lambda: flipped(5)), GOLD_IMAGE),
    pair("compare_images", "rescaled", GOLD_IMAGE, GOLD_IMAGE, reference_base_result=0.5),
    pair("compare_images", "rescaled-low", image("other.png", lambda: flipped(5)), GOLD_IMAGE,
         reference_base_result=0.99),
    pair("compare_images", "none", None, GOLD_IMAGE),
    pair("check_structure_sim", "same", image("same.png", scene), GOLD_IMAGE),
    pair("check_structure_sim", "narrow", image("narrow.png", lambda: scene().resize((60, 48))), GOLD_IMAGE),
    pair("check_structure_sim", "other", image("other.png", lambda: scene(seed=9).rotate(180)), GOLD_IMAGE),
    pair("check_file_exists_and_structure_sim", "same", GOLD_IMAGE, GOLD_IMAGE),
    pair("check_image_mirror", "mirrored", GOLD_IMAGE, image("mirror.png", mirrored)),
    pair("check_image_mirror", "same", GOLD_IMAGE, GOLD_IMAGE),
    pair("check_structure_sim_resized", "other", image("o.png", lambda: scene(seed=3).rotate(180)),
         GOLD_IMAGE),
    pair("check_palette_and_structure_sim", "same", GOLD_IMAGE, GOLD_IMAGE),
    pair("check_brightness_decrease_and_structure_sim", "same", GOLD_IMAGE, GOLD_IMAGE, threshold=0.0),
    *[case("check_image_size", label, lambda tmp, rules=rules: ([save(scene((128, 128)), tmp, "sq.png"),
                                                                 rules], {}))
      for label, rules in (("square", {"width": 128, "height": 128}), ("height", {"height": 64}))],
    *[case("check_image_file_size", label, lambda tmp, size=size: ([save(scene((128, 128)), tmp, "sq.png"),
                                                                     {"max_size": size}], {}))
      for label, size in (("big", 10 ** 6), ("small", 10))],
]

def one(metric: str, label: str, make, *rest, **options):
    """A metric of one image (and maybe rules): `make()` builds it."""
    return case(metric, label, lambda tmp: ([save(make(), tmp, "one.png"), *rest], options))


def transparent(size):
    from PIL import Image
    return lambda: Image.new("RGBA", size, (0, 0, 0, 0))


def square(tmp):
    return save(scene((128, 128)), tmp, "square.png")


def changed(tmp):
    return save(one_pixel_changed(scene((128, 128))), tmp, "changed.png")


def broken(tmp):
    (tmp / "broken.png").write_bytes(b"not an image")
    return str(tmp / "broken.png")


def gimprc(tmp):
    return write(tmp / "gimprc", GIMPRC)


WHITE = image("white.png", lambda: on_background((255, 255, 255)))
MORE_IMAGES = [
    pair("check_structure_sim_resized", "padded", image("padded.png", lambda: transparent_margins(
        scene().resize((128, 96)))), GOLD_IMAGE),
    pair("check_structure_sim_resized", "empty", image("empty.png", transparent((50, 50))), GOLD_IMAGE),
    pair("check_palette_and_structure_sim", "palette", image("palette.png", lambda: scene().quantize(256)),
         GOLD_IMAGE),
    *[pair(metric, f"{label}-{kind}", image(f"{label}.png", lambda factor=factor, kind=kind: enhanced(factor,
                                                                                                      kind)),
           GOLD_IMAGE) for metric, kind, passing, failing in ENHANCEMENTS
      for label, factor in (("passing", passing), ("failing", failing))],
    pair("check_green_background", "green", image("green.png", lambda: on_background((20, 200, 30))), WHITE),
    pair("check_green_background", "yellow", image("yellow.png", lambda: on_background((200, 200, 30))),
         WHITE),
    pair("check_green_background", "other-size", image("g.png", lambda: on_background((20, 200, 30), (50,
                                                                                                      40))),
         image("wide.png", lambda: on_background((255, 255, 255), (50, 40)))),
    one("check_triangle_position", "middle", lambda: triangle_at(40, 27)),
    one("check_triangle_position", "corner", lambda: triangle_at(5, 5)),
    one("check_image_size", "transparent-ignored", lambda: transparent_margins(scene((100, 512)), (300, 600),
                                                                               (50, 40)),
        {"height": 512, "ignore_transparent": True}),
    one("check_image_size", "transparent-counted", lambda: transparent_margins(scene((100, 512)), (300, 600),
                                                                               (50, 40)),
        {"height": 512}),
    one("check_textbox_on_leftside", "left", lambda: text_at(3)),
    one("check_textbox_on_leftside", "right", lambda: text_at(100)),
    case("compare_image_list", "same", lambda tmp: ([[square(tmp)] * 2, [square(tmp)] * 2], {})),
    case("compare_image_list", "one-changed", lambda tmp: ([[square(tmp), changed(tmp)], [square(tmp)] * 2],
                                                           {})),
    case("compare_image_list", "single", lambda tmp: ([square(tmp), changed(tmp)], {})),
    *[case(metric, "broken", lambda tmp, metric=metric: ([broken(tmp), save(scene(), tmp, "gold.png")], {}))
      for metric in ("compare_images", "check_structure_sim", "check_structure_sim_resized",
                     "check_image_mirror",
                     "check_palette_and_structure_sim", "check_green_background",
                     "check_file_exists_and_structure_sim",
                     *[metric for metric, *_ in ENHANCEMENTS])],
    *[case(metric, "broken", lambda tmp, metric=metric: ([broken(tmp)], {}))
      for metric in ("check_triangle_position", "check_textbox_on_leftside")],
    *[case("check_config_status", label, lambda tmp, rules=rules: ([gimprc(tmp), rules], {}))
      for label, rules in (("theme", {"key": "theme", "value": '"Light"'}),
                           ("other-theme", {"key": "theme", "value": '"Dark"'}),
                           ("undo", {"key": "undo-levels", "value": "100"}),
                           ("nested-key", {"key": ["session-info", '"toolbox"'], "value": "20"}),
                           ("position", {"key": "position", "value": "20"}))],
]

RULES = {"title": {"method": "eq", "ref": "Missing You"}, "artist": {"method": "eq", "ref": "Cheng Xiang"}}


def tagged(name: str, **tags):
    return lambda tmp: ([mp3(tmp / name, **tags), RULES], {})


AUDIO = [
    case("check_mp3_meta", "match", tagged("a.mp3", title="Missing You", artist="Cheng Xiang")),
    case("check_mp3_meta", "other-artist", tagged("b.mp3", title="Missing You", artist="Han Baoyi")),
    case("check_mp3_meta", "no-artist", tagged("c.mp3", title="Missing You")),
    case("check_mp3_meta", "no-tag", tagged("blank.mp3")),
    case("check_mp3_meta", "none", lambda tmp: ([None, RULES], {})),
    case("check_mp3_meta", "missing", lambda tmp: ([missing("missing.mp3")(tmp), RULES], {})),
    *[case("check_mp3_meta", f"two-artists-{label}", lambda tmp, rule=rule: (
        [mp3(tmp / "d.mp3", title="Missing You", artist=["Cheng Xiang", "Zhou Xuan"]), {"artist": rule}], {}))
      for label, rule in (("eq", {"method": "eq", "ref": "Cheng Xiang,Zhou Xuan"}),
                          ("re", {"method": "re", "ref": "^Cheng"}))],
]

PAGE = ('<html><body><table><tr><td sdnum="1033;0;0.00" align="right">1.50</td><td>{text}</td></tr></table>'
        '</body></html>')
GOLD_HTML = lambda tmp: write(tmp / "gold.html", PAGE.format(text="Total"))          # noqa: E731
OTHER_FORMAT = lambda tmp: write(tmp / "fmt.html",  # noqa: E731
                                 PAGE.format(text="Total").replace("0.00", "0.000"))
HTML = [
    pair("compare_htmls", "same", lambda tmp: write(tmp / "same.html", PAGE.format(text="Total")), GOLD_HTML),
    pair("compare_htmls", "text", lambda tmp: write(tmp / "text.html", PAGE.format(text="Sum")), GOLD_HTML),
    pair("compare_htmls", "sdnum", OTHER_FORMAT, GOLD_HTML),
    pair("compare_htmls", "ignore-sdnum", OTHER_FORMAT, GOLD_HTML, ignore_sdnum=True),
    pair("compare_htmls", "attribute", lambda tmp: write(tmp / "attr.html", PAGE.format(text="Total").replace(
        "right", "left")), GOLD_HTML, ignore_sdnum=True),
]

CASES = DOCX + MORE_DOCX + PDFS + IMAGES + MORE_IMAGES + AUDIO + HTML

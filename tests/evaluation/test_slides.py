"""Impress metrics (docs extra) against presentations made here, and the options real task files pass them."""
from __future__ import annotations

import io
import json

import pytest

pptx = pytest.importorskip("pptx", reason="the docs extra is not installed")

from lxml import etree  # noqa: E402
from pptx.dml.color import RGBColor  # noqa: E402
from pptx.oxml.ns import qn  # noqa: E402

from daemon.evaluation.admission import missing_capabilities  # noqa: E402
from daemon.evaluation.context import TaskContext  # noqa: E402
from daemon.evaluation.getters import GETTERS, ResultMissing  # noqa: E402
from daemon.evaluation.metrics.slides import (  # noqa: E402
    check_auto_saving_time,
    check_image_stretch_and_center,
    check_left_panel,
    check_page_number_colors,
    check_presenter_console_disable,
    check_slide_orientation_Portrait,
    check_transition,
    compare_pptx_files,
    evaluate_presentation_fill_to_rgb_distance,
)
from daemon.evaluation.registry import gaps  # noqa: E402

from .builders import (  # noqa: E402
    AUTOSAVE,
    BLANK,
    EXAMINED_EDITS,
    PRESENTER,
    Deck,
    backgrounds,
    bullet,
    dissolve,
    empty_box,
    empty_gold_run,
    empty_text_element,
    explicit_defaults,
    first_runs,
    font_colour,
    full_slide_picture,
    grouped,
    merged_runs,
    moved_by,
    placed_picture,
    portrait,
    presentation_with_master,
    red_picture,
    registry,
    slide_table,
    small_picture,
    solid_background,
    theme_colour,
)
from .fake_guest import FakeGuest  # noqa: E402
from .osworld_tasks import all_tasks, tasks_using  # noqa: E402


@pytest.fixture
def deck(tmp_path):
    return Deck(tmp_path)


def test_same_deck_matches_and_text_or_slide_count_changes_do_not(deck, tmp_path):
    gold = deck()
    assert compare_pptx_files(deck(), gold) == 1.0
    def retext(prs):
        first_runs(prs)[1].text = "there"
    assert compare_pptx_files(deck(retext), gold) == 0.0
    def add_slide(prs):
        prs.slides.add_slide(prs.slide_layouts[BLANK])
    assert compare_pptx_files(deck(add_slide), gold) == 0.0
    assert compare_pptx_files(deck(add_slide), gold, examine_number_of_slides=False) == 1.0
    broken = tmp_path / "broken.pptx"
    broken.write_bytes(b"not a presentation")
    assert compare_pptx_files(None, gold) == 0.0
    assert compare_pptx_files(str(broken), gold) == 0.0


@pytest.mark.parametrize("option, edit", EXAMINED_EDITS)
def test_each_examined_property_fails_unless_switched_off(deck, option, edit):
    gold = deck()
    assert compare_pptx_files(deck(edit), gold) == 0.0
    assert compare_pptx_files(deck(edit), gold, **{option: False}) == 1.0


def test_colours_are_compared_when_both_are_rgb(deck):
    colour = font_colour
    gold = deck(colour(RGBColor(0, 0, 0)))
    assert compare_pptx_files(deck(colour(RGBColor(0, 0, 0))), gold) == 1.0
    assert compare_pptx_files(deck(colour(RGBColor(255, 0, 0))), gold) == 0.0
    assert compare_pptx_files(deck(colour(RGBColor(255, 0, 0))), gold, examine_color_rgb=False) == 1.0
    assert compare_pptx_files(deck(), gold) == 1.0                   # an unset colour is not compared


def test_osworld_leniencies(deck):
    gold = deck()
    # Unset and off are alike for bold; unset and "no underline" too; levels 0 and 1; unset alignment is left.
    assert compare_pptx_files(deck(explicit_defaults), gold) == 1.0
    # A theme colour has no RGB value: it is not compared.
    assert compare_pptx_files(deck(theme_colour), gold) == 1.0
    # Moves within the relative tolerance pass; approximately_tolerance widens it.
    nudge = moved_by(emu=3000)
    assert compare_pptx_files(deck(nudge), gold) == 1.0
    shift = moved_by(1.05)
    assert compare_pptx_files(deck(shift), gold) == 0.0
    assert compare_pptx_files(deck(shift), gold, approximately_tolerance=0.1) == 1.0


def test_empty_shapes_may_move_and_run_count_can_be_ignored(deck):
    assert compare_pptx_files(deck(empty_box(5)), deck(empty_box(1))) == 1.0
    gold = deck()
    assert compare_pptx_files(deck(merged_runs), gold) == 0.0
    assert compare_pptx_files(deck(merged_runs), gold, examine_run_count=False) == 1.0


def test_bullets_of_the_slide(deck):
    gold = deck()
    assert compare_pptx_files(deck(bullet), gold) == 0.0
    assert compare_pptx_files(deck(bullet), gold, examine_bullets=False) == 1.0
    assert compare_pptx_files(deck(empty_text_element), deck(empty_gold_run)) == 1.0


def test_tables_compare_grid_and_run_format_not_cell_text(deck):
    gold = deck(slide_table([["a", "b"], ["1", "2"]]))
    assert compare_pptx_files(deck(slide_table([["a", "b"], ["1", "2"]])), gold) == 1.0
    # Cell text is compared only through the slide's bullets, which read every paragraph of the slide.
    assert compare_pptx_files(deck(slide_table([["x", "y"], ["1", "2"]])), gold) == 0.0
    assert compare_pptx_files(deck(slide_table([["x", "y"], ["1", "2"]])), gold, examine_bullets=False) == 1.0
    assert compare_pptx_files(deck(slide_table([["a", "b", "c"], ["1", "2", "3"]])), gold) == 0.0
    bold = deck(slide_table([["a", "b"], ["1", "2"]], bold=True))
    assert compare_pptx_files(bold, gold) == 0.0
    assert compare_pptx_files(bold, gold, examine_font_bold=False) == 0.0  # always compared in tables


def test_text_inside_groups(deck):
    gold = deck(grouped("inside"))
    assert compare_pptx_files(deck(grouped("inside")), gold) == 1.0
    assert compare_pptx_files(deck(grouped("changed")), gold) == 0.0
    assert compare_pptx_files(deck(grouped("changed")), gold, examine_alignment=False) == 0.0      # bullets
    assert compare_pptx_files(deck(grouped("changed")), gold, examine_bullets=False) == 0.0       # alignment
    assert compare_pptx_files(deck(grouped("changed")), gold, examine_alignment=False,
                              examine_bullets=False) == 1.0
    assert compare_pptx_files(deck(grouped("a"), grouped("b")), deck(grouped("ab")),
                              examine_shape=False) == 0.0


@pytest.fixture
def picture(tmp_path):
    return red_picture(tmp_path)


def test_placement_variants(tmp_path, picture):
    deck = Deck(tmp_path, slides=2)
    def image(top, height=1):
        return placed_picture(picture, top, height)
    gold = deck(image(3))
    # examine_top_position: the picture on slide 2 must now be higher than in the original, above 1980000 EMU.
    assert compare_pptx_files(deck(image(1)), gold, examine_shape=False, examine_top_position=True) == 1.0
    assert compare_pptx_files(deck(image(3)), gold, examine_shape=False, examine_top_position=True) == 0.0
    # examine_image_size: pictures keep their size, other shapes their box.
    taller = deck(image(3, 2))
    assert compare_pptx_files(deck(image(1)), gold, examine_shape=False, examine_image_size=True) == 1.0
    assert compare_pptx_files(taller, gold, examine_shape=False, examine_image_size=True) == 0.0
    # examine_modify_height: shapes without text keep their height, whatever their position.
    assert compare_pptx_files(deck(image(1)), gold, examine_shape=False, examine_modify_height=True) == 1.0
    assert compare_pptx_files(taller, gold, examine_shape=False, examine_modify_height=True) == 0.0


def test_compare_pptx_declaration_refuses_unknown_options_only():
    assert gaps("metric", "compare_pptx_files", {"examine_shape": False, "examine_run_count": False,
                                                 "approximately_tolerance": 0.01, "_note": "x",
                                                 "enable_debug": False,
                                                 "examine_shape_lenient_height": True}) == []
    assert gaps("metric", "compare_pptx_files", {"examine_everything": True}) == [
        "compare_pptx_files option 'examine_everything' (not implemented)"]
    assert gaps("metric", "compare_pptx_files", {"examine_shape_lenient_height": True}) == [
        "compare_pptx_files option 'examine_shape_lenient_height' with examine_shape (not implemented)"]


SLIDE_METRICS = {"compare_pptx_files", "check_presenter_console_disable", "check_transition",
                 "check_auto_saving_time", "evaluate_presentation_fill_to_rgb_distance",
                 "check_slide_orientation_Portrait", "check_left_panel", "check_page_number_colors",
                 "check_image_stretch_and_center"}


def test_every_real_task_of_these_metrics_is_runnable():
    checked = 0
    for name, task in tasks_using(*SLIDE_METRICS):
        funcs = task["evaluator"]["func"]
        if set(funcs if isinstance(funcs, list) else [funcs]) <= SLIDE_METRICS:
            assert missing_capabilities(task) == [], name
            checked += 1
    assert checked >= 46


def test_transition_orientation_and_background_distance(tmp_path):
    deck = Deck(tmp_path, slides=2)
    assert check_transition(deck(dissolve), {"slide_idx": 0, "transition_type": "dissolve"}) == 1.0
    assert check_transition(deck(dissolve), {"slide_idx": 0, "transition_type": "fade"}) == 0.0
    assert check_transition(deck(dissolve), {"slide_idx": 1, "transition_type": "dissolve"}) == 0.0
    assert check_slide_orientation_Portrait(deck(portrait)) == 1.0
    assert check_slide_orientation_Portrait(deck()) == 0.0
    blue = backgrounds(RGBColor(0, 0, 255))
    rules = {"rgb": [0, 0, 255], "original_rgb": [255, 255, 255]}
    assert evaluate_presentation_fill_to_rgb_distance(deck(blue), rules) == pytest.approx(1.0)
    # the other: no colour
    half = lambda prs: solid_background(prs.slides[0], RGBColor(0, 0, 255))  # noqa: E731
    assert evaluate_presentation_fill_to_rgb_distance(deck(half), rules) == pytest.approx(0.5)
    white = backgrounds(RGBColor(255, 255, 255))
    assert evaluate_presentation_fill_to_rgb_distance(deck(white), rules) == 0.0


def test_image_stretch_and_center(deck, picture):
    original = deck(small_picture(picture))
    assert check_image_stretch_and_center(deck(full_slide_picture(picture)), original) == 1.0
    assert check_image_stretch_and_center(original, original) == 0.0
    assert check_image_stretch_and_center(deck(), original) == 0.0


def test_page_number_colour_is_the_next_to_last_master_fill(tmp_path):
    assert check_page_number_colors(presentation_with_master(tmp_path, "000000", "FF0000", "FFFFFF"),
                                    {"color": "red"}) == 1.0
    assert check_page_number_colors(presentation_with_master(tmp_path, "FF0000", "0000FF", "FFFFFF"),
                                    {"color": "red"}) == 0.0
    assert check_page_number_colors(presentation_with_master(tmp_path, "FF0000"), {"color": "red"}) == 0.0


def test_libreoffice_settings(tmp_path):
    assert check_presenter_console_disable(registry(tmp_path, *PRESENTER, "false")) == 1.0
    assert check_presenter_console_disable(registry(tmp_path, *PRESENTER, "true")) == 0.0
    assert check_auto_saving_time(registry(tmp_path, *AUTOSAVE, "3"), {"minutes": 3}) == 1.0
    assert check_auto_saving_time(registry(tmp_path, *AUTOSAVE, "10"), {"minutes": 3}) == 0.0
    assert check_presenter_console_disable(None) == check_auto_saving_time(None, {"minutes": 3}) == 0.0


def test_left_panel_from_accessibility_tree():
    assert check_left_panel('<desktop-frame><document-frame name="Slides View"/></desktop-frame>') == 1.0
    assert check_left_panel('<desktop-frame><document-frame name="Outline"/></desktop-frame>') == 0.0
    assert check_left_panel(None) == 0.0


def png(colour) -> bytes:
    from PIL import Image
    data = io.BytesIO()
    Image.new("RGB", (32, 24), colour).save(data, format="PNG")
    return data.getvalue()


def picture_background(slide_number: int, picture: bytes | None = None, link: str | None = None):
    """An edit giving a slide a picture background (p:bgPr's a:blipFill), held in the file or linked to a
    path."""
    from pptx.opc.constants import RELATIONSHIP_TYPE
    def edit(prs):
        slide = prs.slides[slide_number]
        slide.background.fill.solid()
        background = slide._element.find(".//" + qn("p:bgPr"))
        background.remove(background.find(qn("a:solidFill")))
        if picture is not None:
            _, rid = slide.part.get_or_add_image_part(io.BytesIO(picture))
        else:
            rid = slide.part.relate_to(link, RELATIONSHIP_TYPE.IMAGE, is_external=True)
        fill = etree.SubElement(background, qn("a:blipFill"))
        etree.SubElement(fill, qn("a:blip")).set(qn("r:embed"), rid)
        background.insert(0, fill)
    return edit


def test_background_image_in_slide_getter(tmp_path):
    deck = Deck(tmp_path, slides=2)
    ctx = TaskContext(task_id="background", cache_dir=tmp_path / "cache")
    config = {"ppt_file_path": "/home/user/Desktop/deck.pptx", "slide_index": 1, "dest": "landscape.png"}
    def get(pptx_path, files=None):
        guest = FakeGuest({config["ppt_file_path"]: open(pptx_path, "rb").read(), **(files or {})})
        return GETTERS["background_image_in_slide"](guest, ctx, config)
    held = png((10, 200, 30))
    assert open(get(deck(picture_background(1, held))), "rb").read() == held
    linked = deck(picture_background(1, link="file:///home/user/Pictures/frame.png"))
    assert open(get(linked, {"/home/user/Pictures/frame.png": png((1, 2, 3))}), "rb").read() == png((1, 2, 3))
    with pytest.raises(ResultMissing):
        get(linked)                                                      # the linked file is not in the VM
    for other in (deck(picture_background(0, held)), deck(lambda prs: solid_background(prs.slides[1],
                                                                                       RGBColor(0, 0, 255)))):
        with pytest.raises(ResultMissing):
            get(other)  # a picture on another slide; a colour
    with pytest.raises(ResultMissing):
        GETTERS["background_image_in_slide"](FakeGuest({}), ctx, config)


def test_real_task_reading_a_background_picture_is_runnable():
    tasks = [task for _, task in all_tasks() if "background_image_in_slide" in json.dumps(task)]
    assert tasks and all(missing_capabilities(task) == [] for task in tasks)

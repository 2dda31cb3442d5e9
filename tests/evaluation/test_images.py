"""OSWorld's image metrics against images made here, the SSIM against skimage's, and the real tasks'
options."""
from __future__ import annotations

import pytest
from PIL import Image, ImageEnhance

np = pytest.importorskip("numpy", reason="the docs extra is not installed")

from daemon.evaluation import registry  # noqa: E402
from daemon.evaluation.admission import missing_capabilities  # noqa: E402
from daemon.evaluation.context import TaskContext  # noqa: E402
from daemon.evaluation.getters import GETTERS, ResultMissing  # noqa: E402
from daemon.evaluation.metrics import images  # noqa: E402

from .builders import (  # noqa: E402
    ENHANCEMENTS,
    GIMPRC,
    enhanced,
    metrics_of,
    on_background,
    one_pixel_changed,
    save,
    scene,
    text_at,
    transparent_margins,
    triangle_at,
)
from .fake_guest import FakeGuest  # noqa: E402
from .osworld_tasks import tasks_scored_by, tasks_using  # noqa: E402

IMAGE_METRICS = metrics_of(images)


def test_ssim_matches_skimage():
    skimage_metrics = pytest.importorskip("skimage.metrics")
    rng = np.random.default_rng(1)
    base = np.array(scene((40, 30)))
    noisy = np.clip(base + rng.normal(0, 25, base.shape), 0, 255).astype(np.uint8)
    unrelated = rng.integers(0, 256, base.shape, dtype=np.uint8)
    for other in (base, noisy, unrelated):
        assert images.structural_similarity(base, other) == pytest.approx(
            skimage_metrics.structural_similarity(base, other, channel_axis=2), abs=1e-9)
        assert images.structural_similarity(base[..., 0], other[..., 1]) == pytest.approx(
            skimage_metrics.structural_similarity(base[..., 0], other[..., 1]), abs=1e-9)


def test_ssim_orders_similarity_and_refuses_tiny_images():
    base = np.array(scene())
    assert images.structural_similarity(base, base) == pytest.approx(1.0)
    assert images.structural_similarity(base, 255 - base) < 0.5
    with pytest.raises(ValueError):
        images.structural_similarity(base[:6], base[:6])


def test_compare_images_resizes_and_rescales(tmp_path):
    gold = save(scene(), tmp_path, "gold.png")
    assert images.compare_images(save(scene().resize((128, 96)), tmp_path, "big.png"), gold) > 0.9
    other = save(scene(seed=5).transpose(Image.Transpose.FLIP_TOP_BOTTOM), tmp_path, "other.png")
    assert images.compare_images(other, gold) < 0.9
    assert images.compare_images(gold, gold, reference_base_result=0.5) == pytest.approx(1.0)
    assert images.compare_images(other, gold, reference_base_result=0.99) == 0.0
    assert images.compare_images(None, gold) == 0.0


def test_structure_checks(tmp_path):
    gold_image = scene()
    gold = save(gold_image, tmp_path, "gold.png")
    assert images.check_structure_sim(save(gold_image, tmp_path, "same.png"), gold) == 1.0
    assert images.check_structure_sim(save(gold_image.resize((60, 48)), tmp_path, "narrow.png"), gold) == 0.0
    assert images.check_structure_sim(save(scene(seed=9).rotate(180), tmp_path, "other.png"), gold) == 0.0
    assert images.check_file_exists_and_structure_sim(gold, gold) == 1.0
    assert images.check_file_exists_and_structure_sim(str(tmp_path / "missing.png"), gold) == 0.0
    mirrored = save(gold_image.transpose(Image.Transpose.FLIP_LEFT_RIGHT), tmp_path, "mirror.png")
    assert images.check_image_mirror(gold, mirrored) == 1.0
    assert images.check_image_mirror(gold, gold) == 0.0


def test_structure_sim_with_threshold_resizes_and_takes_the_threshold(tmp_path):
    gold_image = scene()
    gold = save(gold_image, tmp_path, "gold.png")
    check = images.check_structure_sim_with_threshold
    assert check(save(gold_image.resize((128, 96)), tmp_path, "big.png"), gold, ssim_threshold=0.85) == 1.0
    assert check(save(gold_image.convert("RGBA"), tmp_path, "rgba.png"), gold) == 1.0
    assert check(save(scene(seed=9).rotate(180), tmp_path, "other.png"), gold, ssim_threshold=0.85) == 0.0
    noisy = np.clip(np.array(gold_image) + np.random.default_rng(2).normal(0, 30, (48, 64, 3)), 0, 255)
    noisy_path = save(Image.fromarray(noisy.astype(np.uint8)), tmp_path, "noisy.png")
    similarity = images.structural_similarity(np.array(Image.open(noisy_path)), np.array(gold_image))
    assert check(noisy_path, gold, ssim_threshold=similarity - 0.01) == 1.0
    assert check(noisy_path, gold, ssim_threshold=similarity + 0.01) == 0.0
    tiny = save(gold_image.resize((6, 4)), tmp_path, "tiny.png")           # a 3x3 window, as OSWorld picks it
    assert check(tiny, tiny) == 1.0
    assert check(gold, tiny) == 1.0                                         # resized to the gold's size first
    assert check(save(scene(seed=9).rotate(180).resize((6, 4)), tmp_path, "tiny_other.png"), tiny) == 0.0
    one_row = save(gold_image.resize((6, 1)), tmp_path, "row.png")
    assert check(one_row, one_row) == 0.0  # skimage fails on a 1-pixel window
    assert check(None, gold) == 0.0


def test_structure_sim_resized_crops_transparent_margins(tmp_path):
    gold_image = scene()
    canvas = transparent_margins(gold_image.resize((128, 96)))
    gold = save(gold_image, tmp_path, "gold.png")
    assert images.check_structure_sim_resized(save(canvas, tmp_path, "padded.png"), gold) == 1.0
    empty = save(Image.new("RGBA", (50, 50), (0, 0, 0, 0)), tmp_path, "empty.png")
    assert images.check_structure_sim_resized(empty, gold) == 0.0
    assert images.check_structure_sim_resized(save(scene(seed=3).rotate(180), tmp_path, "o.png"), gold) == 0.0


def test_palette_and_brightness_threshold(tmp_path):
    original = scene()
    gold = save(original, tmp_path, "gold.png")
    palette = save(original.quantize(256), tmp_path, "palette.png")
    assert images.check_palette_and_structure_sim(palette, gold) == 1.0
    assert images.check_palette_and_structure_sim(gold, gold) == 0.0
    darker = save(ImageEnhance.Brightness(original).enhance(0.7), tmp_path, "darker.png")
    assert images.check_brightness_decrease_and_structure_sim(darker, gold, threshold=0.0) == 0.0


@pytest.mark.parametrize("metric, kind, passing, failing", ENHANCEMENTS)
def test_property_changed_and_structure_kept(tmp_path, metric, kind, passing, failing):
    metric = IMAGE_METRICS[metric]
    gold = save(scene(), tmp_path, "gold.png")
    assert metric(save(enhanced(passing, kind), tmp_path, "passing.png"), gold) == 1.0
    assert metric(save(enhanced(failing, kind), tmp_path, "failing.png"), gold) == 0.0


def test_green_background(tmp_path):
    white = save(on_background((255, 255, 255)), tmp_path, "white.png")
    assert images.check_green_background(save(on_background((20, 200, 30)), tmp_path, "green.png"),
                                         white) == 1.0
    assert images.check_green_background(save(on_background((200, 200, 30)), tmp_path, "yellow.png"),
                                         white) == 0.0
    wide = save(on_background((255, 255, 255), (50, 40)), tmp_path, "wide.png")
    assert images.check_green_background(save(on_background((20, 200, 30), (50, 40)), tmp_path, "g.png"),
                                         wide) == 0.0


def test_triangle_position(tmp_path):
    assert images.check_triangle_position(save(triangle_at(40, 27), tmp_path, "middle.png")) == 1.0
    assert images.check_triangle_position(save(triangle_at(5, 5), tmp_path, "corner.png")) == 0.0
    assert images.check_triangle_position(save(Image.new("L", (20, 20)), tmp_path, "gray.png")) == 0.0


def test_sizes_textbox_and_image_lists(tmp_path):
    square = save(scene((128, 128)), tmp_path, "square.png")
    assert images.check_image_size(square, {"width": 128, "height": 128}) == 1.0
    assert images.check_image_size(square, {"height": 64}) == 0.0
    padded = save(transparent_margins(scene((100, 512)), (300, 600), (50, 40)), tmp_path, "padded.png")
    assert images.check_image_size(padded, {"height": 512, "ignore_transparent": True}) == 1.0
    assert images.check_image_size(padded, {"height": 512}) == 0.0
    assert images.check_image_file_size(square, {"max_size": 10 ** 6}) == 1.0
    assert images.check_image_file_size(square, {"max_size": 10}) == 0.0
    assert images.check_textbox_on_leftside(save(text_at(3), tmp_path, "left.png")) == 1.0
    assert images.check_textbox_on_leftside(save(text_at(100), tmp_path, "right.png")) == 0.0
    changed = save(one_pixel_changed(scene((128, 128))), tmp_path, "changed.png")
    assert images.compare_image_list([square, square], [square, square]) == 1.0
    assert images.compare_image_list([square, changed], [square, square]) == 0.0
    assert images.compare_image_list(square, changed) == 0.0
    assert images.compare_image_list([square, None], [square, square]) == 0.0


def test_unreadable_images_score_zero(tmp_path):
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not an image")
    gold = save(scene(), tmp_path, "gold.png")
    for name, metric in IMAGE_METRICS.items():
        if name in {"check_image_size", "check_config_status", "check_image_file_size"}:
            continue
        arguments = (str(broken),) if name in {"check_triangle_position", "check_textbox_on_leftside"} else (
            str(broken), gold)
        assert metric(*arguments) == 0.0, name
    assert images.check_image_size(str(broken), {"width": 1}) == 0.0


def test_check_config_status(tmp_path):
    config = tmp_path / "gimprc"
    config.write_text(GIMPRC)
    assert images.check_config_status(str(config), {"key": "theme", "value": '"Light"'}) == 1.0
    assert images.check_config_status(str(config), {"key": "theme", "value": '"Dark"'}) == 0.0
    assert images.check_config_status(str(config), {"key": "undo-levels", "value": "100"}) == 1.0
    assert images.check_config_status(str(config),
                                      {"key": ["session-info", '"toolbox"'], "value": "20"}) == 0.0
    assert images.check_config_status(str(config), {"key": "position", "value": "20"}) == 1.0
    assert images.check_config_status(None, {"key": "theme", "value": '"Light"'}) == 0.0


GIMPRC_PATH = "/home/user/.config/GIMP/2.10/gimprc"


def test_gimp_config_file_getter(tmp_path):
    ctx = TaskContext(task_id="gimp", cache_dir=tmp_path)
    guest = FakeGuest({GIMPRC_PATH: GIMPRC.encode()}, answer=lambda command: GIMPRC_PATH + "\n")
    path = GETTERS["gimp_config_file"](guest, ctx, {"file_name": "gimprc", "dest": "gimprc"})
    assert "~/.config/GIMP/2.10/gimprc" in guest.commands[0][-1]
    assert images.check_config_status(path, {"key": "theme", "value": '"Light"'}) == 1.0
    with pytest.raises(ResultMissing):
        GETTERS["gimp_config_file"](FakeGuest(answer=lambda command: GIMPRC_PATH + "\n"), ctx,
                                    {"file_name": "gimprc", "dest": "gimprc"})


def test_real_tasks_using_image_metrics_are_runnable():
    checked = 0
    for name, task, evaluator in tasks_scored_by(*IMAGE_METRICS):
        gaps = [m for m in missing_capabilities(task) if evaluator["func"] in m or "gimp_config_file" in m]
        assert gaps == [], name
        checked += 1
    assert checked >= 20
    assert registry.gaps("metric", "compare_images", {"reference_base_result": 0.5, "fuzzy": True}) == [
        "compare_images option 'fuzzy' (not implemented)"]


def test_real_task_with_an_ssim_threshold_is_runnable():
    tasks = list(tasks_using("check_structure_sim_with_threshold"))
    assert tasks and all(missing_capabilities(task) == [] for name, task in tasks)
    assert registry.gaps("metric", "check_structure_sim_with_threshold",
                         {"ssim_threshold": 0.85, "win": 3}) == [
        "check_structure_sim_with_threshold option 'win' (not implemented)"]

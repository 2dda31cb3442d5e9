"""Each distinct options object the real tasks pass a file-comparing metric, applied to that metric's fixture
pairs: the options change the verdict on exactly these kinds of inputs."""
from __future__ import annotations

from tests.evaluation.builders import ENHANCEMENTS, enhanced, pdf_with_pictures, picture, scene, zip_of

from .cases_files import GOLD_DOC, GOLD_IMAGE, doc, image, pair
from .cases_office import distinct_options
from .cases_text import HELLO, with_files

DOCX_PAIRS = {"blanks": doc("s.docx", "Hello world ", "Second   line"),
              "case": doc("u.docx", "HELLO world", "second line"),
              "order": doc("w.docx", "Second line", "Hello  world"),
              "empty-lines": doc("g.docx", "Hello  world", "", "Second line"),
              "near": doc("n.docx", "Hello  world!", "Second line")}
IMAGE_PAIRS = {"resized": image("big.png", lambda: scene().resize((128, 96))),
               "other": image("other.png", lambda: scene(seed=5).rotate(180)),
               "same": GOLD_IMAGE}
DARKER = [(metric, kind, passing, failing) for metric, kind, passing, failing in ENHANCEMENTS
          if metric == "check_brightness_decrease_and_structure_sim"]


def pictures_zip(name: str, *seeds: int):
    """A zip of lecture_slides/<n>.pdf files, each a PDF of one picture."""
    def build(tmp):
        pdfs = {f"lecture_slides/{n}.pdf": (tmp / f"{name}-{n}.pdf", seed) for n, seed in enumerate(seeds)}
        members = {member: open(pdf_with_pictures(path, picture(seed)), "rb").read()
                   for member, (path, seed) in pdfs.items()}
        return zip_of(tmp / name, members)
    return build


def labelled(options: dict) -> str:
    return "-".join(f"{key}={value}" for key, value in sorted(options.items())) or "defaults"


def option_cases(metric: str, pairs: dict, gold) -> list:
    return [pair(metric, f"options-{labelled(options)}-{name}", result, gold, **options)
            for options in distinct_options(metric).values() for name, result in pairs.items()]


CASES = [
    *option_cases("compare_docx_files", DOCX_PAIRS, GOLD_DOC),
    *option_cases("compare_images", IMAGE_PAIRS, GOLD_IMAGE),
    *option_cases("check_brightness_decrease_and_structure_sim",
                  {label: image(f"{label}.png", lambda factor=factor: enhanced(factor, "Brightness"))
                   for _, _, passing, failing in DARKER for label, factor in (("darker", passing),
                                                                               ("brighter", failing))},
                  GOLD_IMAGE),
    *[with_files("compare_text_file", f"options-{labelled(options)}", HELLO, ["a", "b"], **options)
      for options in distinct_options("compare_text_file").values()],
    *option_cases("compare_archive", {"same": pictures_zip("same.zip", 0, 1),
                                      "changed": pictures_zip("changed.zip", 0, 2)},
                  pictures_zip("gold.zip", 0, 1)),
]

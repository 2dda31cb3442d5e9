"""Office file parts read by more than one metric or getter: LibreOffice's registrymodifications.xcu settings
and a .pptx slide's background picture (as OSWorld's background_image_in_slide getter reads it)."""
from __future__ import annotations

import posixpath
import xml.etree.ElementTree as ET
import zipfile

NS = {"a": "http://schemas.openxmlformats.org/drawingml/2006/main",
      "p": "http://schemas.openxmlformats.org/presentationml/2006/main",
      "oor": "http://openoffice.org/2001/registry"}
RELATIONSHIP = "{http://schemas.openxmlformats.org/package/2006/relationships}Relationship"
EMBED = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}embed"
LINKED = "file://"


def registry_values(xcu_file: str, path: str, name: str) -> list[str | None]:
    """The values of a property in registrymodifications.xcu, in file order."""
    root = ET.parse(xcu_file).getroot()
    path_key, name_key = f"{{{NS['oor']}}}path", f"{{{NS['oor']}}}name"
    return [prop.findtext(".//value")
            for item in root.iter("item") if item.get(path_key) == path
            for prop in item.iter("prop") if prop.get(name_key) == name]


def background_picture(pptx_file: str, slide_index: int) -> bytes | str | None:
    """The picture filling the slide's background: its bytes when the .pptx holds it, the VM path when it is a
    linked file, None when the slide has none (or a part OSWorld's getter would fail on is missing)."""
    number = slide_index + 1
    try:
        with zipfile.ZipFile(pptx_file) as pptx:
            rels = f"ppt/slides/_rels/slide{number}.xml.rels"
            backgrounds = ET.fromstring(pptx.read(f"ppt/slides/slide{number}.xml")).iter(f"{{{NS['p']}}}bgPr")
            firsts = (next(background.iter(f"{{{NS['a']}}}blip"), None) for background in backgrounds)
            picture_id = next((blip.get(EMBED) for blip in firsts if blip is not None
                               and blip.get(EMBED)), None)
            target = next((rel.get("Target") for rel in ET.fromstring(pptx.read(rels)).findall(RELATIONSHIP)
                           if "image" in rel.get("Type", "") and rel.get("Id") == picture_id), None)
            if picture_id is None or target is None:
                return None
            if target.startswith(".."):
                return pptx.read(posixpath.normpath(posixpath.join("ppt/slides", target)))
    except (OSError, zipfile.BadZipFile, ET.ParseError, KeyError):
        return None
    return target[len(LINKED):] if target.startswith(LINKED) else None     # OSWorld asserts one of the two

"""Static assets and catalogues: colours readable from afar, translations complete and compiled."""

from __future__ import annotations

import re
import subprocess
import sys
from gettext import GNUTranslations
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
CSS = (ROOT / "static" / "board.css").read_text()
TRANSLATIONS = ROOT / "signage" / "translations"


def luminance(colour: str) -> float:
    channels = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.mark.parametrize("selector", [":root", ".theme-dark", ".theme-contrast"])
def test_every_text_colour_has_at_least_7_to_1_contrast(selector):
    block = re.search(re.escape(selector) + r" \{(.*?)\}", CSS, re.S).group(1)
    colours = dict(re.findall(r"--([\w-]+):\s*(#[0-9a-fA-F]{6})", block))
    for name in ("fg", "muted", "cancelled", "substitution", "room", "extra", "exam"):
        assert contrast(colours[name], colours["bg"]) >= 7, (selector, name)
    assert contrast(colours["badge-fg"], colours["badge-bg"]) >= 7
    assert contrast(colours["fg"], colours["now"]) >= 7


@pytest.mark.parametrize("lang", ["de", "da", "nl"])
def test_catalogues_are_complete_and_compiled(lang):
    folder = TRANSLATIONS / lang / "LC_MESSAGES"
    with (TRANSLATIONS / "messages.pot").open("rb") as pot:
        wanted = {m.id for m in read_po(pot) if m.id}
    with (folder / "messages.po").open("rb") as po:
        catalogue = {m.id: m.string for m in read_po(po) if m.id}
    assert wanted <= set(catalogue) and all(catalogue[m] for m in wanted)
    with (folder / "messages.mo").open("rb") as mo:
        compiled = GNUTranslations(mo)
    assert {m: compiled.gettext(m) for m in wanted} == {m: catalogue[m] for m in wanted}


def test_the_message_template_lists_every_translatable_text(tmp_path):
    pot = tmp_path / "messages.pot"
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg",
                    "-k", "_l", "-o", str(pot), "."], cwd=ROOT, check=True, capture_output=True)
    with pot.open("rb") as fresh, (TRANSLATIONS / "messages.pot").open("rb") as kept:
        assert {m.id for m in read_po(fresh)} == {m.id for m in read_po(kept)}, (
            "run `make translations`")

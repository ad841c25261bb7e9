"""Build hook: compile the translation catalogues (.po → .mo) into every build.

Everything else about the distribution lives in pyproject.toml. Compiled catalogues are not kept
in git (`*.mo` is ignored); without this hook a wheel carried only the .po files, and an
installed hub showed English pages and mixed mails although the page said `lang="de"`.
"""

from __future__ import annotations

from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from setuptools import setup
from setuptools.command.build_py import build_py

# Packages with a gettext catalogue folder (LANG/LC_MESSAGES/messages.po).
CATALOGUES = ("hub/translations", "appliance/kiosk/translations")


def compile_catalogues(source_root: Path, target_root: Path) -> list[Path]:
    """Write a .mo next to where each .po lands under `target_root`; return the .mo paths."""
    written = []
    for folder in CATALOGUES:
        for po_path in sorted((source_root / folder).glob("*/LC_MESSAGES/*.po")):
            with po_path.open("rb") as po_file:
                catalog = read_po(po_file)
            # Fuzzy entries stay out of what operators install (`make translations` shows
            # them to developers with --use-fuzzy).
            mo_path = target_root / po_path.relative_to(source_root).with_suffix(".mo")
            mo_path.parent.mkdir(parents=True, exist_ok=True)
            with mo_path.open("wb") as mo_file:
                write_mo(mo_file, catalog, use_fuzzy=False)
            written.append(mo_path)
    return written


class BuildWithCatalogues(build_py):
    """`build_py` that also compiles the catalogues into the build (or, for an editable
    install, into the source tree the install points at)."""

    def run(self) -> None:
        """Copy the packages as usual, then compile the catalogues over any stale .mo."""
        super().run()
        source_root = Path(__file__).resolve().parent
        editable = getattr(self, "editable_mode", False)
        target_root = source_root if editable else Path(self.build_lib)
        for mo_path in compile_catalogues(source_root, target_root):
            self.announce(f"compiled {mo_path}", level=2)


setup(cmdclass={"build_py": BuildWithCatalogues})

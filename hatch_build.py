"""Wheel build hook: the message catalogs compiled into the wheel (as `make catalogs` does).

The .mo files are build output (git-ignored), so a wheel built from a clean checkout has
them only if the build makes them; they go to zgoda/translations/, where bundled_dir finds them.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class CatalogsBuildHook(BuildHookInterface):
    """Compile translations/<lang>/LC_MESSAGES/messages.po into the wheel's catalogs."""

    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        """Write each catalog's .mo to a scratch directory and map it into the wheel."""
        if self.target_name != "wheel":
            return
        root = Path(self.root)
        self._scratch = tempfile.TemporaryDirectory(prefix="zgoda-catalogs-")
        sources = sorted(root.glob("translations/*/LC_MESSAGES/messages.po"))
        if not sources:
            raise RuntimeError(f"no catalogs under {root / 'translations'}")
        for po in sources:
            relative = po.relative_to(root).with_suffix(".mo")
            target = Path(self._scratch.name) / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            with po.open("rb") as source:
                catalog = read_po(source)
            with target.open("wb") as compiled:
                write_mo(compiled, catalog)  # fuzzy entries left out, as pybabel compile does
            build_data["force_include"][str(target)] = f"zgoda/{relative}"

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        """Remove the scratch directory once the wheel is written."""
        if self.target_name == "wheel":
            self._scratch.cleanup()

"""Packages for setuptools, and the build step that compiles the message catalogs; everything else is in pyproject.toml.

``boundaries/`` stays at the top of the repository (the source of truth, with its provenance
and licences) and is shipped inside the package as ``auditor/boundaries``, where
:func:`auditor.paths.boundaries_dir` finds it through :mod:`importlib.resources`. pyproject.toml
cannot map one folder into a package while also finding the packages, hence this file.

The reports' gettext catalogs are kept as ``auditor/locale/<ll_CC>/LC_MESSAGES/auditor.po``; ``build_py``
compiles each into the ``.mo`` beside it in the build (with Babel, a build requirement), so the wheel
carries both. A checkout without ``.mo`` files compiles the ``.po`` in memory on first use
(:mod:`auditor.report.i18n`).
"""

from pathlib import Path

from setuptools import find_namespace_packages, setup
from setuptools.command.build_py import build_py


class build_py_with_catalogs(build_py):  # noqa: N801 - setuptools' command naming
    """build_py, then every ``auditor/locale/*/LC_MESSAGES/*.po`` compiled to ``.mo`` in the build folder."""

    def run(self) -> None:
        super().run()
        if self.editable_mode:  # an editable install reads the .po from the checkout
            return
        from babel.messages.mofile import write_mo
        from babel.messages.pofile import read_po

        for po in sorted(Path("auditor", "locale").glob("*/LC_MESSAGES/*.po")):
            target = Path(self.build_lib) / po.with_suffix(".mo")
            target.parent.mkdir(parents=True, exist_ok=True)
            with po.open("rb") as f:
                catalog = read_po(f, locale=po.parent.parent.name, domain=po.stem)
            with target.open("wb") as f:
                write_mo(f, catalog, use_fuzzy=False)


setup(
    packages=[*find_namespace_packages(include=["auditor", "auditor.*"], exclude=["*.__pycache__"]), "auditor.boundaries"],
    package_dir={"auditor.boundaries": "boundaries"},
    cmdclass={"build_py": build_py_with_catalogs},
)

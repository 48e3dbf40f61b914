"""Packages for setuptools; everything else is in pyproject.toml.

``boundaries/`` stays at the top of the repository (the source of truth, with its provenance
and licences) and is shipped inside the package as ``auditor/boundaries``, where
:func:`auditor.paths.boundaries_dir` finds it through :mod:`importlib.resources`. pyproject.toml
cannot map one folder into a package while also finding the packages, hence this file.
"""

from setuptools import find_namespace_packages, setup

setup(
    packages=[*find_namespace_packages(include=["auditor", "auditor.*"], exclude=["*.__pycache__"]), "auditor.boundaries"],
    package_dir={"auditor.boundaries": "boundaries"},
)

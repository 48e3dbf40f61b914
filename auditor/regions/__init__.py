"""Regions: the programmes' pilot regions, their boundaries, options and status over time, from the registry
(``boundaries/regions.yaml``); code holds no region."""

from auditor.regions.registry import *  # noqa: F403 - the registry's public names are this package's
from auditor.regions.registry import __all__  # noqa: F401

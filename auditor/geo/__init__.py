"""Pure geometry: coordinate systems, projections and three-valued containment."""

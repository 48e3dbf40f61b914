"""Supervision (issue 20)."""

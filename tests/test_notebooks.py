"""The notebooks in notebooks/ run from a clean kernel and their committed outputs are current.

Each notebook is executed with nbclient in a fresh kernel (cwd = the repository root, no network:
the audits are offline, the figures static), and its text outputs are compared with the outputs
committed beside it. When an intended change moves them, re-execute and commit:

    python tests/test_notebooks.py            # rewrites notebooks/*.ipynb with fresh outputs
"""

from __future__ import annotations

import copy
import difflib
import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
NAMES = ["regulator_audit.ipynb", "operator_cdn_selfcheck.ipynb", "isp_footprint.ipynb", "analyst_api.ipynb"]
CELL_TIMEOUT_S = 120


def _kernel_env() -> dict[str, str]:
    """The test's environment, less evidence settings that would change the audits, plus the repo on the path."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUDITOR_")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    env.pop("MPLBACKEND", None)
    return env


def execute(nb: Any) -> Any:
    """A copy of ``nb`` with its outputs cleared and re-made by a fresh kernel (raises on a cell error)."""
    import tempfile

    from jupyter_client.kernelspec import NATIVE_KERNEL_NAME
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient

    fresh = copy.deepcopy(nb)
    for cell in fresh.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
            cell.metadata.pop("execution", None)
    with tempfile.TemporaryDirectory(prefix="nbk") as sockets:
        # the kernel talks over Unix sockets in a private folder: no TCP port at all
        km = KernelManager(kernel_name=NATIVE_KERNEL_NAME, transport="ipc", ip=os.path.join(sockets, "k"))
        client = NotebookClient(
            fresh,
            km=km,
            timeout=CELL_TIMEOUT_S,
            resources={"metadata": {"path": str(REPO)}},
            record_timing=False,  # no timestamps in committed outputs
            allow_errors=False,
        )
        try:
            # cleanup_kc: shut the kernel down and close its channels (nbclient would leave both
            # open for a kernel manager it did not create)
            client.execute(cleanup_kc=True, env=_kernel_env())
        finally:
            if km.has_kernel:
                km.shutdown_kernel(now=False)
    return fresh


def _outputs(nb: Any) -> list[list[tuple[str, str]]]:
    """Per code cell: its stream texts and text/plain results (figures and HTML tables are not compared)."""
    out = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        items = []
        for o in cell.outputs:
            if o.output_type == "stream":
                items.append((o.name, o.text))
            elif o.output_type in ("execute_result", "display_data"):
                items.append(("text/plain", o.data.get("text/plain", "")))
            else:
                items.append((o.output_type, json.dumps(o, sort_keys=True)))
        out.append(items)
    return out


@pytest.mark.parametrize("name", NAMES)
def test_notebook_runs_and_outputs_are_current(name):
    import nbformat

    committed = nbformat.read(NOTEBOOKS / name, as_version=4)
    fresh = execute(committed)
    for i, cell in enumerate(c for c in fresh.cells if c.cell_type == "code"):
        for o in cell.outputs:
            assert o.output_type != "error", f"{name} cell {i}: {o.get('ename')}: {o.get('evalue')}"
            assert not (o.output_type == "stream" and o.name == "stderr"), f"{name} cell {i} wrote to stderr:\n{o.text}"
    new, old = _outputs(fresh), _outputs(committed)
    if new != old:
        i = next((k for k, (a, b) in enumerate(zip(new, old)) if a != b), min(len(new), len(old)))
        diff = "\n".join(difflib.unified_diff(
            "".join(t for _, t in (old[i] if i < len(old) else [])).splitlines(),
            "".join(t for _, t in (new[i] if i < len(new) else [])).splitlines(),
            "committed", "fresh", lineterm="", n=1,
        ))
        pytest.fail(
            f"notebooks/{name}: committed outputs are stale (first at code cell {i}); "
            f"re-execute with `python tests/test_notebooks.py` and review the diff:\n{diff}", pytrace=False,
        )


def test_notebooks_are_committed_executed_and_offline():
    import nbformat

    assert sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")) == sorted(NAMES)
    for name in NAMES:
        nb = nbformat.read(NOTEBOOKS / name, as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert code and all(c.execution_count is not None and c.outputs for c in code), f"{name} is not committed with outputs"
        # no interactive maps (folium/Leaflet fetch scripts and tiles from the network), no timestamps
        assert not any(".explore(" in c.source for c in code), f"{name} calls .explore()"
        outputs = json.dumps([c.outputs for c in code])
        assert "leaflet" not in outputs.lower() and "<script" not in outputs, f"{name} has scripts in its outputs"
        assert not any("execution" in c.metadata for c in code), f"{name} records execution timestamps"


def main() -> None:  # pragma: no cover - a maintenance command, not a test
    import nbformat

    for name in sys.argv[1:] or NAMES:
        path = NOTEBOOKS / Path(name).name
        fresh = execute(nbformat.read(path, as_version=4))
        nbformat.write(fresh, path)
        print(f"executed {path.relative_to(REPO)}")


if __name__ == "__main__":  # pragma: no cover
    main()

"""``python -m auditor``: the command line (as the ``auditor`` script)."""

from auditor.cli import main

if __name__ == "__main__":
    main()

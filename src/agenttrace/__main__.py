"""``python -m agenttrace``: the same as the ``agenttrace`` command."""

from agenttrace.cli import main

if __name__ == "__main__":
    main()

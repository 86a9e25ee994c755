"""``python -m reportgen`` is ``reportgen``."""

from .cli import main

main(prog_name="reportgen")

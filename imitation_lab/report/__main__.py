"""``python -m imitation_lab.report``."""

from imitation_lab.report.app import main

main()

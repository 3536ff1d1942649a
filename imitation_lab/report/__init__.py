"""Sweep reports: ``imitation-lab report <sweep dir>`` (tables, CIs, plots)."""

from imitation_lab.report.app import main, report
from imitation_lab.report.runs import Job, load_jobs

__all__ = ["Job", "load_jobs", "main", "report"]

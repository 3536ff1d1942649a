"""``imitation-lab <command> [--debug] [hydra overrides]``: console front-end of the Hydra apps."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path

from imitation_lab.config.help import filtered_completion
from imitation_lab.errors import EarlyStop, ImitationLabError, storage_error_line
from imitation_lab.runs.jobs import current_sweep_dir, job_failure
from imitation_lab.runs.resume_args import with_saved_overrides
from imitation_lab.runs.run_dir import DONE

log = logging.getLogger(__name__)

COMMANDS = {
    "train": "imitation_lab.train",
    "collect": "imitation_lab.collect",
    "eval": "imitation_lab.eval_app",
    "report": "imitation_lab.report",
}
DEBUG_FLAG = "--debug"
USAGE = (
    "usage: imitation-lab <command> [--debug] [hydra overrides ...]\n"
    f"commands: {', '.join(COMMANDS)}\n"
    "--debug: full Python tracebacks instead of one-line errors (same as HYDRA_FULL_ERROR=1)\n"
    "example: imitation-lab train dataset=cartpole optim.lr=3e-4 -m seed=0,1,2"
)


def pop_debug_flag(argv: list[str]) -> list[str]:
    """Remove ``--debug`` from ``argv``; if it was there, ask Hydra for full tracebacks.

    User errors (``imitation_lab.errors``) are printed as one line by default; with
    ``HYDRA_FULL_ERROR=1`` they, and Hydra's own config errors, are raised with the full trace.
    """
    if DEBUG_FLAG not in argv:
        return argv
    os.environ["HYDRA_FULL_ERROR"] = "1"
    return [arg for arg in argv if arg != DEBUG_FLAG]


COMPLETION_FLAGS = {"-sc", "--shell-completion"}
#: how a completion line starts: ``python -m imitation_lab.<app>`` or ``imitation-lab <command>``
_APP_PREFIX = re.compile(r"^\s*(\S*python[\d.]*\s+-m\s+\S+|\S*imitation-lab(?:\s+(\w+))?)\s*")


def fix_completion_line() -> str | None:
    """Rewrite ``COMP_LINE`` so Hydra's completion sees ``<app> <overrides>``.

    Hydra strips ``python script.py`` or one app word; ``python -m <module>`` and
    ``imitation-lab <command>`` are two words more, so it completed nothing. Returns the
    ``imitation-lab`` command named on the line, if any.
    """
    line = os.environ.get("COMP_LINE")
    found = _APP_PREFIX.match(line) if line else None
    if line is None or found is None:
        return None
    new = "imitation-lab " + line[found.end() :]
    point = int(os.environ.get("COMP_POINT", len(line)))
    os.environ["COMP_LINE"] = new
    os.environ["COMP_POINT"] = str(max(0, point - (len(line) - len(new))))
    return found.group(2)


def main(argv: list[str] | None = None) -> None:
    """Dispatch to the command's Hydra app with the remaining arguments."""
    argv = pop_debug_flag(list(sys.argv[1:] if argv is None else argv))
    if argv and argv[0] in COMPLETION_FLAGS:  # the completion script calls `imitation-lab -sc`
        command = fix_completion_line()
        argv = [command if command in COMMANDS else "train", *argv]
    elif argv and any(flag in argv for flag in COMPLETION_FLAGS):
        fix_completion_line()
    if not argv or argv[0] in {"-h", "--help"} or argv[0] not in COMMANDS:
        print(USAGE, file=sys.stderr if argv and argv[0] not in {"-h", "--help"} else sys.stdout)
        if argv and argv[0] not in {"-h", "--help"}:
            print(f"error: unknown command {argv[0]!r}", file=sys.stderr)
            raise SystemExit(2)
        return
    command, rest = argv[0], argv[1:]
    if command == "train":
        rest = with_saved_overrides(rest)
    module = __import__(COMMANDS[command], fromlist=["main"])
    sys.argv = [f"imitation-lab {command}", *rest]
    with filtered_completion(command, rest):
        run_interruptible(module.main, command)


def run_module(app: str, app_main) -> None:
    """``python -m imitation_lab.<app>``: the same front-end as ``imitation-lab <app>``
    (``--debug``, completion of this command line, one-line Ctrl-C)."""
    sys.argv = pop_debug_flag(sys.argv)
    if app == "train":
        sys.argv = [sys.argv[0], *with_saved_overrides(sys.argv[1:])]
    if COMPLETION_FLAGS & set(sys.argv):
        fix_completion_line()
    with filtered_completion(app, sys.argv[1:]):
        run_interruptible(app_main, app)


def run_interruptible(app_main, app: str = "train") -> None:
    """Run a Hydra app; Ctrl-C ends with one line saying what was kept and what to run next
    (a single training run prints its own resume command), never a traceback."""
    try:
        app_main()
    except KeyboardInterrupt:
        if os.environ.get("HYDRA_FULL_ERROR") == "1":
            raise
        print(f"error: interrupted. {_interrupted(app)}", file=sys.stderr)
        raise SystemExit(130) from None


def _interrupted(app: str) -> str:
    """What an interrupted ``app`` leaves, and what to run next."""
    sweep_dir = current_sweep_dir()
    if sweep_dir is not None:
        return _sweep_progress(sweep_dir)
    if app == "collect":
        return (
            "Nothing was written under the dataset id (collect writes a dataset aside and "
            "moves it in whole at the end): run the same command again."
        )
    if app == "eval":
        return "No eval.json was written (it is written last): run the same command again."
    return "Run the same command again."


def _sweep_progress(sweep_dir: Path) -> str:
    """What a stopped sweep leaves: finished jobs kept; the same command runs the rest."""
    how = (
        "Run the same command again to finish the sweep: finished jobs are skipped (their "
        "DONE.json), unfinished ones resume from their last checkpoint."
    )
    if not sweep_dir.is_dir():
        return how
    jobs = [p for p in sweep_dir.iterdir() if (p / ".hydra").is_dir()]
    done = sum((p / DONE).exists() for p in jobs)
    return f"{done} of {len(jobs)} started jobs in {sweep_dir} finished. {how}"


@contextlib.contextmanager
def one_line_errors(*, in_sweep: bool = False) -> Iterator[None]:
    """An app main's user errors (``ImitationLabError``, a full disk, a read-only folder) as
    one ``error: <line>`` on stderr and exit status 1; a bug keeps its traceback, and so does
    everything with ``HYDRA_FULL_ERROR=1`` (``--debug``). In a sweep (``in_sweep``) the error
    is logged and raised, so Hydra marks the job failed and runs the others."""
    try:
        yield
    except EarlyStop:  # stopped on purpose (a pruned trial): not an error
        raise
    except Exception as err:
        line = str(err) if isinstance(err, ImitationLabError) else storage_error_line(err)
        if in_sweep:  # Hydra marks the job failed, goes on with the others, and at the end
            log.error("Job failed (%s: %s); the other jobs continue.", type(err).__name__, err)
            raise job_failure(err) from err  # prints a user error as one line

        if line is None or os.environ.get("HYDRA_FULL_ERROR") == "1":
            raise
        print(f"error: {line}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()

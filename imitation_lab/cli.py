"""``imitation-lab <command> [--debug] [hydra overrides]``: console front-end of the Hydra apps."""

from __future__ import annotations

import os
import sys

COMMANDS = {
    "train": "imitation_lab.train",
    "collect": "imitation_lab.collect",
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


def main(argv: list[str] | None = None) -> None:
    """Dispatch to the command's Hydra app with the remaining arguments."""
    argv = pop_debug_flag(list(sys.argv[1:] if argv is None else argv))
    if not argv or argv[0] in {"-h", "--help"} or argv[0] not in COMMANDS:
        print(USAGE, file=sys.stderr if argv and argv[0] not in {"-h", "--help"} else sys.stdout)
        if argv and argv[0] not in {"-h", "--help"}:
            print(f"error: unknown command {argv[0]!r}", file=sys.stderr)
            raise SystemExit(2)
        return
    command, rest = argv[0], argv[1:]
    module = __import__(COMMANDS[command], fromlist=["main"])
    sys.argv = [f"imitation-lab {command}", *rest]
    module.main()


if __name__ == "__main__":
    main()

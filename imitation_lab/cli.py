"""``imitation-lab <command> [hydra overrides]``: console front-end of the Hydra apps."""

from __future__ import annotations

import sys

COMMANDS = {"train": "imitation_lab.train"}
USAGE = (
    "usage: imitation-lab <command> [hydra overrides ...]\n"
    f"commands: {', '.join(COMMANDS)}\n"
    "example: imitation-lab train dataset=cartpole optim.lr=3e-4 -m seed=0,1,2"
)


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
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

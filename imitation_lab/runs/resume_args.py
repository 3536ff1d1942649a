"""``trainer.resume=true hydra.run.dir=<run>`` continues the run with its own overrides.

The overrides a run was started with are saved in ``<run>/.hydra/overrides.yaml``. Resuming
without retyping them would otherwise continue with the defaults (another step count, W&B
switched back on) and rewrite that file. The saved overrides are put before the command
line's, so a key given again on the command line wins (``trainer.steps=`` to train longer); a
changed model, optimizer or dataset is still refused by the checkpoint's setup check.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from hydra.core.override_parser.overrides_parser import OverridesParser

#: flags after which the command is no training run: a sweep, completion, help
NOT_A_RESUME = {"-m", "--multirun", "-sc", "--shell-completion", "-h", "--help", "--hydra-help"}
TRUE = {"true", "True", "1", "yes"}
#: keys the resume command itself sets; never taken from the saved overrides
OWN_KEYS = {"trainer.resume", "hydra.run.dir"}


def hydra_quoted(value: str) -> str:
    """``value`` as a Hydra override value that parses back to exactly ``value``: as is where
    Hydra reads it so, else single-quoted (a path with ``(``, ``,``, ``=``, ``'`` or ``[``)."""
    try:
        parsed = OverridesParser.create().parse_override(f"key={value}").value()
    except Exception:
        parsed = None
    if parsed == value:
        return value
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def override_key(override: str) -> str:
    """``+tags=[a]`` -> ``tags``; ``~logger`` -> ``logger``; ``optim.lr=1e-3`` -> ``optim.lr``."""
    return override.lstrip("+~").partition("=")[0]


def _value_of(args: list[str], key: str) -> str | None:
    found = [arg.partition("=")[2] for arg in args if override_key(arg) == key and "=" in arg]
    return found[-1] if found else None


def saved_overrides(run_dir: Path) -> list[str] | None:
    """The overrides the run in ``run_dir`` was started with, if it recorded them."""
    path = run_dir / ".hydra" / "overrides.yaml"
    if not path.is_file():
        return None
    try:
        saved = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError):
        return None  # unreadable: resume as typed; the checkpoint check still guards the setup
    return [str(o) for o in saved] if isinstance(saved, list) else None


def with_saved_overrides(args: list[str]) -> list[str]:
    """``args`` of a train command, with the resumed run's saved overrides put first.

    Only for a single run that says ``trainer.resume=true`` and names its
    ``hydra.run.dir``; anything else (a fresh run, a multirun, completion) is returned as is.
    """
    if NOT_A_RESUME & set(args):
        return args
    run_dir = _value_of(args, "hydra.run.dir")
    if _value_of(args, "trainer.resume") not in TRUE or not run_dir:
        return args
    saved = saved_overrides(Path(run_dir))
    if not saved:
        return args
    given = {override_key(a): a for a in args if not a.startswith("-")}
    saved = [o for o in saved if override_key(o) not in OWN_KEYS]
    kept = [o for o in saved if override_key(o) not in given]
    changed = [
        f"{given[key]} (was {o})"
        for o in saved
        if (key := override_key(o)) in given and given[key] != o
    ]
    if kept or changed:  # informational (stdout): stderr stays one line for an error
        note = f"Resuming {run_dir} with its saved overrides: {' '.join(kept) or '(none)'}"
        print(note + (f"; changed: {', '.join(changed)}" if changed else ""))
    return [*kept, *args]

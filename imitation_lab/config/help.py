"""What ``--help`` and tab completion list: each app's user-facing config groups and options.

Hidden: the typed ``*_schema`` nodes (the YAML options extend them; choosing one is refused,
``config.check_choices``), config folders of other apps that live under ``conf/``
(``collect``, ``eval``) and groups the tools add themselves (``hpo``, added to each Optuna
trial by the sweeper).
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator

from omegaconf import OmegaConf

from imitation_lab.config.paths import config_dir

#: the config folder of each app, relative to ``conf/``, and the groups in it that it hides
APPS: dict[str, tuple[str, tuple[str, ...]]] = {
    "train": ("", ("collect", "eval", "hpo", "hydra")),
    "collect": ("collect", ("hydra",)),
    "eval": ("eval", ("hydra",)),
}
SCHEMA_SUFFIX = "_schema"
RESOLVER = "imitation_lab.help_groups"


def config_groups(app: str) -> dict[str, list[str]]:
    """``{group: [options]}`` a user of ``app`` chooses from (from its config folder)."""
    folder, hidden = APPS[app]
    root = config_dir() / folder
    groups: dict[str, list[str]] = {}
    for path in sorted(root.rglob("*.yaml")):
        group = path.parent.relative_to(root).as_posix()
        if group == "." or group.split("/")[0] in hidden or path.stem.endswith(SCHEMA_SUFFIX):
            continue
        groups.setdefault(group, []).append(path.stem)
    return groups


def help_groups(app: str) -> str:
    """The ``== Configuration groups ==`` block of ``--help``, as Hydra formats it."""
    return "\n".join(f"{group}: {', '.join(opts)}" for group, opts in config_groups(app).items())


def register_resolver() -> None:
    """Make ``${imitation_lab.help_groups:<app>}`` available to the help templates."""
    if not OmegaConf.has_resolver(RESOLVER):
        OmegaConf.register_new_resolver(RESOLVER, help_groups)


def is_hidden_completion(word: str, app: str) -> bool:
    """A completion candidate (``optim=adam_schema``, ``collect/``, ``hpo.``) to leave out."""
    key, _, value = word.partition("=")
    top = key.split("/")[0].split(".")[0]
    hidden = set(APPS[app][1]) - {"hydra"}
    return top in hidden or value.endswith(SCHEMA_SUFFIX)


@contextlib.contextmanager
def filtered_completion(app: str, argv: list[str]) -> Iterator[None]:
    """Run Hydra's ``--shell-completion query=...`` with its candidates filtered (other
    ``-sc`` uses, such as ``install=bash``, print their script unchanged)."""
    if app not in APPS or not any(arg.startswith("query=") for arg in argv):
        yield
        return
    buffer = io.StringIO()
    try:
        with contextlib.redirect_stdout(buffer):
            yield
    finally:
        words = [w for w in buffer.getvalue().split() if not is_hidden_completion(w, app)]
        if words:
            print(" ".join(words))

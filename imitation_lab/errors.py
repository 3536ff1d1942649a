"""User-facing errors: each carries one message that says what is wrong and what to do."""


class ImitationLabError(Exception):
    """An error caused by the user's input (config, dataset, checkpoint), not by a bug."""


class ConfigError(ImitationLabError, ValueError):
    """A config value is missing, of the wrong type or out of range."""


class DatasetError(ImitationLabError):
    """A dataset id cannot be found, built, downloaded or validated."""


class CheckpointError(ImitationLabError):
    """A checkpoint is missing, corrupted or belongs to another architecture."""


class TrainingDivergedError(ImitationLabError):
    """The loss or the gradients became NaN/inf."""


class SweepError(ImitationLabError):
    """A folder is not a Hydra multirun sweep, or holds no result to report."""


class EarlyStop(Exception):
    """A run stopped early on purpose (e.g. an Optuna pruner): not a failure."""

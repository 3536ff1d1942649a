"""The Slurm tests run sweeps like tests/sweeps does, on the session's real cluster."""

from tests.sweeps.conftest import built_pendulum  # noqa: F401 - the shared dataset fixture

"""A real single-node Slurm cluster for the tests: ``munged``, ``slurmctld`` and ``slurmd``.

``SlurmCluster(root).start()`` writes a minimal ``slurm.conf`` for this host (linuxproc
process tracking, no task plugin, ``select/cons_tres``, one partition ``debug`` on this node,
free ports, a private munge socket), starts the three daemons, waits until ``sinfo`` shows the
node idle, and ``stop()`` ends exactly the daemons it started, by their pid files. Clients
(``sbatch``, ``sinfo``, ``scontrol``, and submitit inside jobs) find the cluster through
``SLURM_CONF`` (see ``env()``). Needs root and ``apt-get install slurm-wlm munge``.

By hand: ``python -m tests.slurm.cluster start DIR`` / ``python -m tests.slurm.cluster stop DIR``.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

BINARIES = ("munged", "mungekey", "slurmctld", "slurmd", "sbatch", "sinfo", "scontrol", "runuser")
PARTITION = "debug"


def unavailable_reason() -> str | None:
    """Why a cluster cannot be started here, or None when it can."""
    missing = [name for name in BINARIES if shutil.which(name) is None]
    if missing:
        return (
            f"Slurm/munge binaries not found ({', '.join(missing)}): "
            "`apt-get install -y slurm-wlm munge` (as root)"
        )
    if os.geteuid() != 0:
        return "starting slurmd/munged needs root"
    try:
        pwd.getpwnam("munge")
    except KeyError:
        return "no `munge` user (install the munge package)"
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _memory_mb() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) // 1024
    return 4096


@dataclass
class SlurmCluster:
    """One node (this host, ``hostname -s``), one partition, all state under ``root``."""

    root: Path
    partition: str = PARTITION

    @property
    def conf(self) -> Path:
        return self.root / "slurm.conf"

    @property
    def munge_dir(self) -> Path:
        return self.root / "munge"

    def env(self) -> dict[str, str]:
        """What a client process needs to talk to this cluster."""
        return {"SLURM_CONF": str(self.conf)}

    def pid_files(self) -> list[Path]:
        """Daemons in stop order (slurmd, slurmctld, munged)."""
        return [
            self.root / "slurmd.pid",
            self.root / "slurmctld.pid",
            self.munge_dir / "munged.pid",
        ]

    # ------------------------------------------------------------------ start
    def write_conf(self) -> None:
        host = socket.gethostname().split(".")[0]
        cpus = max(os.cpu_count() or 1, 4)
        # config_overrides: slurmd takes CPUs/RealMemory from this file, not the hardware, so
        # two jobs with the launcher's defaults (2 CPUs, 8 GB each) run at once even on a
        # small runner (the test jobs use one thread); memory is not a consumable (CR_CPU),
        # only a limit checked at submission.
        memory = max(_memory_mb(), 16_384)
        (self.root / "state").mkdir(exist_ok=True)
        (self.root / "spool").mkdir(exist_ok=True)
        lines = [
            "ClusterName=imitationlab",
            f"SlurmctldHost={host}(127.0.0.1)",
            "SlurmUser=root",
            "SlurmdUser=root",
            f"SlurmctldPort={_free_port()}",
            f"SlurmdPort={_free_port()}",
            "AuthType=auth/munge",
            "CredType=cred/munge",
            f"AuthInfo=socket={self.munge_dir / 'munge.socket'}",
            f"StateSaveLocation={self.root / 'state'}",
            f"SlurmdSpoolDir={self.root / 'spool'}",
            f"SlurmctldPidFile={self.root / 'slurmctld.pid'}",
            f"SlurmdPidFile={self.root / 'slurmd.pid'}",
            f"SlurmctldLogFile={self.root / 'slurmctld.log'}",
            f"SlurmdLogFile={self.root / 'slurmd.log'}",
            "ProctrackType=proctrack/linuxproc",
            "TaskPlugin=task/none",
            "SelectType=select/cons_tres",
            "SelectTypeParameters=CR_CPU",
            "SchedulerType=sched/backfill",
            "JobAcctGatherType=jobacct_gather/none",
            "AccountingStorageType=accounting_storage/none",
            "JobCompType=jobcomp/none",
            "MpiDefault=none",
            "ReturnToService=2",
            "SlurmdParameters=config_overrides",
            "KillWait=2",  # seconds between SIGTERM and SIGKILL (requeue, scancel)
            "InactiveLimit=0",
            "MailProg=/bin/true",
            f"NodeName={host} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={memory} State=UNKNOWN",
            f"PartitionName={self.partition} Nodes={host} Default=YES MaxTime=INFINITE State=UP",
        ]
        self.conf.write_text("\n".join(lines) + "\n")

    def _start_munge(self) -> None:
        munge = pwd.getpwnam("munge")
        self.munge_dir.mkdir(exist_ok=True)
        key = self.munge_dir / "munge.key"
        if not key.exists():
            subprocess.run(["mungekey", "--create", f"--keyfile={key}"], check=True)
        for path in (self.munge_dir, key):
            os.chown(path, munge.pw_uid, munge.pw_gid)
        key.chmod(0o400)
        self.munge_dir.chmod(0o755)  # clients need to reach the socket
        subprocess.run(
            [
                "runuser",
                "-u",
                "munge",
                "--",
                "munged",
                f"--key-file={key}",
                f"--socket={self.munge_dir / 'munge.socket'}",
                f"--pid-file={self.munge_dir / 'munged.pid'}",
                f"--log-file={self.munge_dir / 'munged.log'}",
                f"--seed-file={self.munge_dir / 'munged.seed'}",
            ],
            check=True,
            capture_output=True,
            text=True,
            timeout=30,
        )

    def start(self, timeout: float = 60.0) -> None:
        """Start munged, slurmctld and slurmd; return once the node is idle."""
        self.root.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o755)  # munged (user munge) must reach its own subfolder
        self.write_conf()
        env = {**os.environ, **self.env()}
        try:
            self._start_munge()
            for daemon in (["slurmctld", "-c"], ["slurmd"]):
                subprocess.run(
                    [*daemon, "-f", str(self.conf)],
                    check=True,
                    env=env,
                    capture_output=True,
                    text=True,
                    timeout=30,
                )
            self._wait_idle(timeout, env)
        except (subprocess.SubprocessError, OSError, TimeoutError) as err:
            logs = self.logs()
            self.stop()
            raise RuntimeError(f"Slurm did not start: {_describe(err)}\n{logs}") from err

    def _wait_idle(self, timeout: float, env: dict[str, str]) -> None:
        deadline = time.monotonic() + timeout
        state = ""
        while time.monotonic() < deadline:
            result = subprocess.run(
                ["sinfo", "-h", "-N", "-o", "%T"], env=env, capture_output=True, text=True
            )
            state = result.stdout.strip() or result.stderr.strip()
            if state == "idle":
                return
            time.sleep(0.5)
        raise TimeoutError(f"the node is not idle after {timeout:.0f} s (sinfo: {state!r})")

    def logs(self, tail: int = 20) -> str:
        out = []
        for name in ("slurmctld.log", "slurmd.log", "munge/munged.log"):
            path = self.root / name
            if path.exists():
                lines = path.read_text(errors="replace").splitlines()[-tail:]
                out.append(f"--- {path}\n" + "\n".join(lines))
        return "\n".join(out)

    # ------------------------------------------------------------------ stop
    def stop(self, timeout: float = 20.0) -> None:
        """Cancel the cluster's jobs, then SIGTERM each daemon named in its pid file (SIGKILL
        if it stays); job step daemons (slurmstepd) of this cluster left behind are killed."""
        self._cancel_jobs(timeout)
        for pid_file in self.pid_files():
            pid = _read_pid(pid_file)
            if pid is None:
                continue
            _terminate(pid, timeout)
            pid_file.unlink(missing_ok=True)
        for pid in self._step_daemons():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def _cancel_jobs(self, timeout: float) -> None:
        """``scancel`` every job and wait until they and their step daemons are gone."""
        pid = _read_pid(self.root / "slurmctld.pid")
        if pid is None or not _alive(pid):
            return
        env = {**os.environ, **self.env()}

        def jobs() -> list[str]:
            result = subprocess.run(
                ["squeue", "-h", "-o", "%A"], env=env, capture_output=True, text=True, timeout=30
            )
            return result.stdout.split() if result.returncode == 0 else []

        if ids := jobs():
            subprocess.run(["scancel", *ids], env=env, capture_output=True, timeout=30)
        deadline = time.monotonic() + timeout
        while (jobs() or self._step_daemons()) and time.monotonic() < deadline:
            time.sleep(0.2)

    def _step_daemons(self) -> list[int]:
        """Live ``slurmstepd`` processes started by this cluster's slurmd."""
        marker = f"SLURM_CONF={self.conf}".encode()
        pids = []
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit():
                continue
            try:
                if not (proc / "cmdline").read_bytes().startswith(b"slurmstepd"):
                    continue
                if marker in (proc / "environ").read_bytes().split(b"\0") and _alive(
                    int(proc.name)
                ):
                    pids.append(int(proc.name))
            except OSError:
                continue
        return pids


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    try:
        return stat.read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def _terminate(pid: int, timeout: float) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if _alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _describe(err: BaseException) -> str:
    if isinstance(err, subprocess.CalledProcessError):
        output = (err.stderr or err.stdout or "").strip()
        return f"`{' '.join(map(str, err.cmd))}` exited {err.returncode}: {output}"
    return str(err)


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("start", "stop"):
        print("usage: python -m tests.slurm.cluster start|stop DIR", file=sys.stderr)
        return 2
    cluster = SlurmCluster(Path(argv[1]).resolve())
    if argv[0] == "stop":
        cluster.stop()
        return 0
    reason = unavailable_reason()
    if reason:
        print(f"error: {reason}", file=sys.stderr)
        return 1
    cluster.start()
    print(f"export SLURM_CONF={cluster.conf}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

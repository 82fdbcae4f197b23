"""Run one container of an ECS task definition with Docker, the way Fargate runs it.

Read from the task definition's own inputs, and reproduced:

- ``user`` (``--user``), ``readonlyRootFilesystem`` (``--read-only``),
  ``linuxParameters.initProcessEnabled`` (``--init``), the task's ``cpu`` and ``memory``
  (``--cpus``, ``--memory``);
- every mount point, with Fargate's rules for a task volume (one with no host path and no
  EFS or Docker volume configuration): when the image declares the container path with
  ``VOLUME``, the volume starts as a copy of the image's content there, mode included, which
  is what a fresh Docker volume does; otherwise it is an empty directory owned by root with
  mode 0755, here a bind-mounted host directory;
- ``environment``, and ``secrets`` injected as environment values: each ``valueFrom`` is
  ``<secret ARN>:<JSON key>:<version stage>:<version id>``, resolved against a stand-in for
  Secrets Manager;
- ``healthCheck`` (command, interval, timeout, retries, start period);
- the stop: ``docker stop --time <stopTimeout>``, SIGTERM then SIGKILL after stopTimeout,
  which is how the ECS agent stops a container;
- ``command``: the container definition's, in place of the image's CMD (the migrations task);
- a one-off task (``aws ecs run-task`` with a task definition and, perhaps, a
  ``containerOverrides`` command): the same container with the command replaced by the
  override, run until it exits (``FargateContainer(command=...).run_to_completion()``). Its
  stdout and stderr are read apart; awslogs would put both in one log stream.

Not reproduced: awsvpc networking (the container shares the host's network, as a task owns
its network interface: it listens on the port of ``portMappings`` directly), the awslogs
driver (Docker's own log, read with ``docker logs``), ``runtimePlatform`` (the image runs on
this host's architecture), the image reference (the caller names a local image), and the
variables Fargate adds on its own (task credentials and metadata endpoints).

Values and environment variables reach ``docker run`` through its environment
(``--env NAME``), so no secret appears on a command line.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Generous: each wait returns as soon as its state is reached; these only bound a failure.
DOCKER_TIMEOUT_SECONDS = 120.0
POLL_SECONDS = 0.5


class FargateRunError(AssertionError):
    """The container did not run as the task definition says it should."""


@dataclass(frozen=True)
class Docker:
    """The docker CLI, run with a bounded wait."""

    executable: str

    def run(
        self,
        *args: str,
        env: Mapping[str, str] | None = None,
        check: bool = True,
        timeout: float = DOCKER_TIMEOUT_SECONDS,
    ) -> subprocess.CompletedProcess[str]:
        command = [self.executable, *args]
        result = subprocess.run(
            command,
            capture_output=True,
            text=True,
            check=False,
            timeout=timeout,
            env=None if env is None else {**os.environ, **env},
        )
        if check and result.returncode != 0:
            raise FargateRunError(
                f"{shlex.join(command)} exited {result.returncode}: {result.stderr.strip()}"
            )
        return result

    def image_exists(self, image: str) -> bool:
        return self.run("image", "inspect", image, check=False).returncode == 0

    def image_config(self, image: str) -> dict[str, Any]:
        config: dict[str, Any] = json.loads(
            self.run("image", "inspect", "--format", "{{json .Config}}", image).stdout
        )
        return config

    def state(self, container: str) -> dict[str, Any]:
        state: dict[str, Any] = json.loads(
            self.run("inspect", "--format", "{{json .State}}", container).stdout
        )
        return state

    def inspect(self, container: str) -> dict[str, Any]:
        details: dict[str, Any] = json.loads(
            self.run("inspect", "--format", "{{json .}}", container).stdout
        )
        return details


@dataclass(frozen=True)
class TaskDefinition:
    """One container of a recorded ``aws:ecs/taskDefinition:TaskDefinition``, with the task's
    volumes and size."""

    container: dict[str, Any]
    volumes: list[dict[str, Any]]
    cpu_units: int
    memory_mib: int

    @classmethod
    def from_inputs(cls, inputs: Mapping[str, Any], container_name: str) -> TaskDefinition:
        containers = json.loads(inputs["containerDefinitions"])
        (container,) = [c for c in containers if c["name"] == container_name]
        return cls(
            container=container,
            volumes=list(inputs.get("volumes") or []),
            cpu_units=int(inputs["cpu"]),
            memory_mib=int(inputs["memory"]),
        )

    @property
    def port(self) -> int:
        (mapping,) = self.container["portMappings"]
        return int(mapping["containerPort"])

    @property
    def stop_timeout(self) -> int:
        # ECS's default when the container definition sets none.
        return int(self.container.get("stopTimeout", 30))

    def volume(self, name: str) -> dict[str, Any]:
        (volume,) = [v for v in self.volumes if v["name"] == name]
        return volume


class SecretsManagerStand:
    """Secrets Manager for the task's secrets: secret ARN -> SecretString (JSON)."""

    def __init__(self, secrets: Mapping[str, str]) -> None:
        self._secrets = dict(secrets)

    def resolve(self, value_from: str) -> str:
        """The value ECS injects for ``<ARN>:<JSON key>:<version stage>:<version id>``."""
        arn, json_key, stage, version_id = value_from.rsplit(":", 3)
        if (stage, version_id) != ("", ""):
            raise FargateRunError(f"{value_from}: only the current version is stood in for")
        if arn not in self._secrets:
            raise FargateRunError(
                f"{value_from}: no such secret (stand-in has {list(self._secrets)})"
            )
        document = json.loads(self._secrets[arn])
        if json_key not in document:
            raise FargateRunError(f"{value_from}: the secret has no key {json_key!r}")
        value = document[json_key]
        # ECS injects a JSON string as is and any other JSON value in its JSON text (5432).
        return value if isinstance(value, str) else json.dumps(value)


def health_check_args(check: Mapping[str, Any]) -> list[str]:
    """``docker run`` options for an ECS ``healthCheck``. The CLI takes the shell form only, so
    an exec-form command (``["CMD", arg, ...]``) is quoted with shlex.join, which the shell
    splits back into the same arguments."""
    kind, *command = check["command"]
    if kind == "CMD-SHELL":
        (shell_command,) = command
    elif kind == "CMD":
        shell_command = shlex.join(command)
    else:
        raise FargateRunError(f"health check command form {kind!r} is neither CMD nor CMD-SHELL")
    return [
        f"--health-cmd={shell_command}",
        f"--health-interval={check['interval']}s",
        f"--health-timeout={check['timeout']}s",
        f"--health-retries={check['retries']}",
        f"--health-start-period={check.get('startPeriod', 0)}s",
    ]


@dataclass(frozen=True)
class StopResult:
    exit_code: int
    oom_killed: bool
    seconds: float


@dataclass(frozen=True)
class CompletedTask:
    """A one-off task's container after it exited, and how it was run."""

    exit_code: int
    oom_killed: bool
    stdout: str
    stderr: str
    seconds: float
    user: str  # the container's user, as Docker ran it
    read_only_root: bool  # Docker's HostConfig.ReadonlyRootfs


@dataclass
class FargateContainer:
    """The task's container, started with ``docker run`` as Fargate would start it.

    ``read_only_files`` (container path -> host file) are bind-mounted read-only on top: a
    test's one declared substitution. ``command``, when given, replaces the image's CMD, as a
    ``containerOverrides`` command does (the image has no ENTRYPOINT to keep). Call
    ``remove()`` (or use ``with``) to delete the container, the volumes and the directories
    made for it, also after a failure.
    """

    docker: Docker
    task: TaskDefinition
    image: str
    secrets: SecretsManagerStand
    read_only_files: Mapping[str, Path] = field(default_factory=dict)
    command: Sequence[str] = ()
    name: str = field(default_factory=lambda: f"payments-api-fargate-{uuid.uuid4().hex[:10]}")
    _volumes: list[str] = field(default_factory=list)
    _host_dirs: list[Path] = field(default_factory=list)

    def __enter__(self) -> FargateContainer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.remove()

    # -- docker run ---------------------------------------------------------------------------

    def start(self) -> None:
        container = self.task.container
        args = ["run", "--detach", f"--name={self.name}", "--network=host"]
        if container.get("user"):
            args.append(f"--user={container['user']}")
        if container.get("readonlyRootFilesystem"):
            args.append("--read-only")
        if container.get("linuxParameters", {}).get("initProcessEnabled"):
            args.append("--init")
        if container.get("privileged"):
            args.append("--privileged")
        args += [f"--cpus={self.task.cpu_units / 1024:g}", f"--memory={self.task.memory_mib}m"]
        args += self._mount_args()
        for path, host_file in self.read_only_files.items():
            args.append(f"--mount=type=bind,source={host_file},target={path},readonly")
        env = self._environment()
        args += [f"--env={name}" for name in sorted(env)]
        if "healthCheck" in container:
            args += health_check_args(container["healthCheck"])
        self.docker.run(*args, self.image, *self._command, env=env)

    @property
    def _command(self) -> list[str]:
        """What runs: the override, else the container definition's ``command``, else the
        image's CMD (nothing given to ``docker run``), as ECS chooses."""
        return list(self.command or self.task.container.get("command") or [])

    def _environment(self) -> dict[str, str]:
        env = {item["name"]: item["value"] for item in self.task.container.get("environment", [])}
        for secret in self.task.container.get("secrets", []):
            env[secret["name"]] = self.secrets.resolve(secret["valueFrom"])
        return env

    def _mount_args(self) -> list[str]:
        declared = self.docker.image_config(self.image).get("Volumes") or {}
        args = []
        for point in self.task.container.get("mountPoints", []):
            volume = self.task.volume(point["sourceVolume"])
            unsupported = {"host", "efsVolumeConfiguration", "dockerVolumeConfiguration"}
            if unsupported & volume.keys():
                raise FargateRunError(f"volume {volume}: only task volumes are stood in for")
            target = point["containerPath"]
            options = ",readonly" if point.get("readOnly") else ""
            if target in declared:
                # A fresh volume: Docker copies the image's content and mode into it.
                name = f"{self.name}-{volume['name']}"
                self.docker.run("volume", "create", name)
                self._volumes.append(name)
                args.append(f"--mount=type=volume,source={name},target={target}{options}")
            else:
                directory = Path(tempfile.mkdtemp(prefix=f"{self.name}-{volume['name']}-"))
                self._host_dirs.append(directory)
                if os.geteuid() == 0:
                    os.chown(directory, 0, 0)
                directory.chmod(0o755)
                args.append(f"--mount=type=bind,source={directory},target={target}{options}")
        return args

    # -- while it runs ------------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        return self.docker.state(self.name)

    def logs(self) -> str:
        result = self.docker.run("logs", self.name, check=False)
        return (result.stdout + result.stderr).strip()

    def exec(self, *command: str) -> subprocess.CompletedProcess[str]:
        return self.docker.run("exec", self.name, *command, check=False)

    def healthy_deadline_seconds(self) -> float:
        """The longest the health check can take to say healthy or unhealthy, plus a margin."""
        check = self.task.container["healthCheck"]
        return float(
            check.get("startPeriod", 0)
            + (check["retries"] + 1) * (check["interval"] + check["timeout"])
            + 30
        )

    def wait_until_healthy(self) -> None:
        """Poll ``docker inspect`` until the health check says healthy; fail at once if the
        container exits or turns unhealthy."""
        deadline = time.monotonic() + self.healthy_deadline_seconds()
        while True:
            state = self.state()
            health = (state.get("Health") or {}).get("Status")
            if state["Status"] != "running":
                raise FargateRunError(
                    f"the container {state['Status']} (exit code {state['ExitCode']}, "
                    f"OOM-killed: {state['OOMKilled']}) before it was healthy; its log:\n"
                    f"{self.logs()}"
                )
            if health == "healthy":
                return
            if health == "unhealthy" or time.monotonic() > deadline:
                probes = (state.get("Health") or {}).get("Log", [])
                raise FargateRunError(
                    f"the container is {health} (health probes: {probes}); its log:\n{self.logs()}"
                )
            time.sleep(POLL_SECONDS)

    def run_to_completion(self, timeout: float = DOCKER_TIMEOUT_SECONDS) -> CompletedTask:
        """Start the container and wait, bounded, until it exits, as a one-off task runs."""
        started = time.monotonic()
        self.start()
        try:
            self.docker.run("wait", self.name, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise FargateRunError(
                f"{shlex.join(self._command)} did not exit within {timeout} s; its log:\n"
                f"{self.logs()}"
            ) from None
        seconds = time.monotonic() - started
        output = self.docker.run("logs", self.name)
        details = self.docker.inspect(self.name)
        state = details["State"]
        return CompletedTask(
            exit_code=int(state["ExitCode"]),
            oom_killed=bool(state["OOMKilled"]),
            stdout=output.stdout,
            stderr=output.stderr,
            seconds=seconds,
            user=str(details["Config"]["User"]),
            read_only_root=bool(details["HostConfig"]["ReadonlyRootfs"]),
        )

    # -- the end ------------------------------------------------------------------------------

    def stop(self) -> StopResult:
        """Stop as ECS does: SIGTERM, then SIGKILL after the stop timeout."""
        started = time.monotonic()
        timeout = self.task.stop_timeout
        self.docker.run("stop", f"--time={timeout}", self.name, timeout=timeout + 60)
        seconds = time.monotonic() - started
        state = self.state()
        return StopResult(int(state["ExitCode"]), bool(state["OOMKilled"]), seconds)

    def remove(self) -> None:
        self.docker.run("rm", "--force", "--volumes", self.name, check=False)
        for volume in self._volumes:
            self.docker.run("volume", "rm", "--force", volume, check=False)
        for directory in self._host_dirs:
            shutil.rmtree(directory, ignore_errors=True)
        self._volumes.clear()
        self._host_dirs.clear()

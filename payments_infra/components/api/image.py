"""ApiImage component: the API's container image, built from ``app/api`` and pushed to ECR.

Creates the ECR repository ``api-{suffix}`` (scan on push, immutable tags, encrypted with
its own customer-managed key ``alias/ecr-{suffix}`` usable only through ECR, deleted with its
images on destroy, a lifecycle rule keeping the newest N images) and
builds ``app/api`` with pulumi-docker-build at ``pulumi up`` (Docker is a deploy
prerequisite). The tag is a hash of everything that goes into the image (the Dockerfile,
which pins the base image by digest, and the files the build context sends), the git commit
those files come from (``source_version``: baked into the image as ``GIT_COMMIT``, which
``/healthz`` reports) and the platform, so an unchanged API is not pushed again, and whatever
rebuilds the image (new sources, a new commit, a new base, another CPU architecture) pushes a
new tag: the repository's tags are immutable, and ECR refuses a second push of one.

With ``payments:apiImageTag`` (a rollback) the component keeps the repository, its key and its
lifecycle rule exactly as they are, builds nothing, and the tasks run that earlier image of the
repository. The build itself is ``retain_on_delete``: pulumi-docker-build's delete removes the
pushed manifest from the registry, so without it the switch to ``apiImageTag`` would delete the
image the service ran until then (the very one, when the tag names it); the repository owns
its images (lifecycle rule, force delete on destroy).

Used only when ``payments:apiImage`` (an image from outside the stack) is not set;
``ecr_repository_arn_of`` finds the repository of one that is, for the pull permission.
``api_image`` makes that choice for platform.py.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_aws as aws
import pulumi_docker_build as docker_build

from payments_infra import REPO_ROOT
from payments_infra.aws.access import Custodians
from payments_infra.aws.keys import customer_managed_key, ecr_key_policy
from payments_infra.aws.tagging import name_tag
from payments_infra.config import ServiceSettings
from payments_infra.config.naming import Names, physical_name

API_SOURCE = REPO_ROOT / "app" / "api"
# What goes into the image (the Dockerfile copies these); tests and caches do not.
IMAGE_INPUTS = ("Dockerfile", "requirements.txt", "payments_api", "certs")
# A digest, as payments:apiImageTag may give one instead of a tag.
IMAGE_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")


@dataclass(frozen=True)
class SourceVersion:
    """The git commit the image's inputs come from, and whether they differ from it."""

    commit: str | None
    """The last commit that changed any of ``IMAGE_INPUTS``; None without git (or a commit)."""
    dirty: bool
    """The inputs have changes that commit does not hold (untracked files included)."""

    @property
    def label(self) -> str:
        """``GIT_COMMIT`` in the image, which /healthz reports: ``<commit>``,
        ``<commit>-dirty``, or empty when unknown."""
        if self.commit is None:
            return ""
        return f"{self.commit}-dirty" if self.dirty else self.commit

    @property
    def tag_part(self) -> str:
        """The commit in the image tag: its first 12 characters (``-dirty``), or ``unknown``."""
        if self.commit is None:
            return "unknown"
        return f"{self.commit[:12]}-dirty" if self.dirty else self.commit[:12]


def _git(source: Path, *args: str) -> str | None:
    """git's output in ``source``'s work tree, or None when git cannot answer."""
    try:
        result = subprocess.run(
            ["git", "-C", str(source), *args],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout if result.returncode == 0 else None


def read_source_version(source: Path = API_SOURCE) -> SourceVersion:
    """The commit of the image's inputs: the last commit that changed them rather than HEAD,
    so a commit elsewhere in the repository (the infrastructure, the docs) neither rebuilds
    the image nor changes what it reports. app/api/docker/build-image.sh does the same."""
    log = _git(source, "log", "-1", "--format=%H", "--", *IMAGE_INPUTS)
    status = _git(source, "status", "--porcelain", "--", *IMAGE_INPUTS)
    if not log or not log.strip() or status is None:
        return SourceVersion(commit=None, dirty=False)
    return SourceVersion(commit=log.strip(), dirty=bool(status.strip()))


@functools.cache
def source_version(source: Path = API_SOURCE) -> SourceVersion:
    """``read_source_version``, asked once per program run (the graph records it often)."""
    return read_source_version(source)


def platform_tag(cpu_architecture: str) -> str:
    """How a tag names the platform: ``arm64`` or ``x86-64``."""
    return cpu_architecture.lower().replace("_", "-")


def source_tag(
    cpu_architecture: str, source: Path = API_SOURCE, version: SourceVersion | None = None
) -> str:
    """A tag that changes exactly when what goes into the image changes: its files, the base
    image the Dockerfile pins, the commit they come from (``GIT_COMMIT`` in the image), the
    platform (``ARM64`` or ``X86_64``): ``src-<hash>-<commit>-<platform>``."""
    version = version if version is not None else source_version(source)
    digest = hashlib.sha256()
    for entry in IMAGE_INPUTS:
        path = source / entry
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            if "__pycache__" in file.parts:
                continue
            digest.update(str(file.relative_to(source)).encode())
            digest.update(file.read_bytes())
    return f"src-{digest.hexdigest()[:16]}-{version.tag_part}-{platform_tag(cpu_architecture)}"


def image_reference(repository_url: str, tag_or_digest: str) -> str:
    """The reference ECS takes for an image of the repository: ``<url>@<digest>`` for a
    digest, ``<url>:<tag>`` for a tag (the repository's tags are immutable, and ECS resolves a
    tag to its digest once per deployment)."""
    if IMAGE_DIGEST.fullmatch(tag_or_digest):
        return f"{repository_url}@{tag_or_digest}"
    return f"{repository_url}:{tag_or_digest}"


def ecr_repository_arn_of(image: str) -> str | None:
    """The ECR repository ARN of an image reference, or None if it is not in ECR."""
    registry, _, path = image.partition("/")
    parts = registry.split(".")
    if len(parts) < 6 or parts[1:3] != ["dkr", "ecr"] or not path:
        return None
    repository = path.split("@")[0].rsplit(":", 1)[0] if "@" in path else path.rsplit(":", 1)[0]
    return f"arn:aws:ecr:{parts[3]}:{parts[0]}:repository/{repository}"


def lifecycle_policy(keep: int) -> str:
    return json.dumps(
        {
            "rules": [
                {
                    "rulePriority": 1,
                    "description": f"Keep the newest {keep} images",
                    "selection": {
                        "tagStatus": "any",
                        "countType": "imageCountMoreThan",
                        "countNumber": keep,
                    },
                    "action": {"type": "expire"},
                }
            ]
        }
    )


@dataclass(frozen=True, kw_only=True)
class ApiImageArgs:
    """Inputs of the ApiImage component."""

    environment_suffix: str
    """Ends every physical name. Required."""
    cpu_architecture: str
    """ARM64 or X86_64: the platform the image is built for. Required."""
    keep_images: int
    """How many images the repository keeps. Required."""
    account_id: pulumi.Input[str]
    """The AWS account, for the repository key's policy. Required."""
    custodians: Custodians
    """Who administers the repository's key (aws/access.py). Required."""
    image_tag: str | None = None
    """payments:apiImageTag: a tag or digest already in this repository. The tasks run it and
    nothing is built (a rollback). Default: None (build app/api)."""


class ApiImage(pulumi.ComponentResource):
    """The ECR repository and the image built from app/api."""

    def __init__(
        self, name: str, args: ApiImageArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("payments:api:ApiImage", name, None, opts)
        repository_name = physical_name(Names.ecr_repository, args.environment_suffix)
        # Its own key rather than the logs or database key: their policies admit only their
        # services, and ECR's grants on a shared key would reach their data.
        self.key = customer_managed_key(
            f"{name}-key",
            description=f"Images of the ECR repository {repository_name}",
            policy=pulumi.Output.all(args.account_id, args.custodians.arns()).apply(
                lambda v: ecr_key_policy(v[0], v[1])
            ),
            name=Names.ecr_kms_key,
            alias=Names.ecr_kms_alias,
            suffix=args.environment_suffix,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.repository = aws.ecr.Repository(
            f"{name}-repository",
            aws.ecr.RepositoryArgs(
                name=repository_name,
                image_tag_mutability="IMMUTABLE",
                image_scanning_configuration=aws.ecr.RepositoryImageScanningConfigurationArgs(
                    scan_on_push=True
                ),
                # Fixed at creation: a repository made before the key is replaced, and the
                # image with it (replace_with below), so the new one is not left empty.
                encryption_configurations=[
                    aws.ecr.RepositoryEncryptionConfigurationArgs(
                        encryption_type="KMS", kms_key=self.key.arn
                    )
                ],
                force_delete=True,  # destroy takes the images with it
                tags=name_tag(repository_name),
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        aws.ecr.LifecyclePolicy(
            f"{name}-lifecycle",
            aws.ecr.LifecyclePolicyArgs(
                repository=self.repository.name, policy=lifecycle_policy(args.keep_images)
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.image: docker_build.Image | None = None
        if args.image_tag:
            # An image an earlier `pulumi up` pushed here: nothing is built, the repository and
            # its key stay exactly as they are (same resources, same names).
            tag = args.image_tag
            self.image_ref: pulumi.Output[str] = self.repository.repository_url.apply(
                lambda url: image_reference(url, tag)
            )
        else:
            self.image = self._build(name, args)
            # The pushed reference with its digest: a task always runs exactly what was built.
            self.image_ref = self.image.ref
        self.repository_arn = self.repository.arn
        self.kms_key_arn = self.key.arn
        self.register_outputs(
            {
                "image_ref": self.image_ref,
                "repository_arn": self.repository_arn,
                "kms_key_arn": self.kms_key_arn,
            }
        )

    def _build(self, name: str, args: ApiImageArgs) -> docker_build.Image:
        """app/api, built for the tasks' platform and pushed under its source tag."""
        token = aws.ecr.get_authorization_token_output(
            registry_id=self.repository.registry_id,
            opts=pulumi.InvokeOutputOptions(parent=self),
        )
        platform = (
            docker_build.Platform.LINUX_ARM64
            if args.cpu_architecture == "ARM64"
            else docker_build.Platform.LINUX_AMD64
        )
        version = source_version()
        return docker_build.Image(
            f"{name}-build",
            docker_build.ImageArgs(
                context=docker_build.BuildContextArgs(location=str(API_SOURCE)),
                platforms=[platform],
                push=True,
                # /healthz reports it; the tag names the same commit, so a new commit is a
                # new tag and never a second push of one.
                build_args={"GIT_COMMIT": version.label},
                tags=[
                    self.repository.repository_url.apply(
                        lambda url: f"{url}:{source_tag(args.cpu_architecture, version=version)}"
                    )
                ],
                registries=[
                    docker_build.RegistryArgs(
                        address=self.repository.repository_url,
                        username=token.user_name,
                        password=pulumi.Output.secret(token.password),
                    )
                ],
            ),
            opts=pulumi.ResourceOptions(
                parent=self,
                # Same name, same URL: without this, a replaced repository would keep the old
                # image's state and never be pushed to.
                replace_with=[self.repository],
                # The provider's delete removes the pushed image from ECR: leaving the graph
                # (payments:apiImageTag) must not delete what the service runs. The repository
                # owns its images: the lifecycle rule expires them, force_delete on destroy.
                retain_on_delete=True,
            ),
        )


def api_image(
    settings: ServiceSettings,
    suffix: str,
    account_id: pulumi.Input[str],
    custodians: Custodians,
    opts: pulumi.ResourceOptions,
) -> tuple[pulumi.Input[str], pulumi.Input[str] | None]:
    """The image the API's tasks run, and the ECR repository they pull it from (None: not
    ECR). payments:apiImage, an image from outside the stack, takes the place of the stack's
    own repository (``ApiImage`` named ``image``); payments:apiImageTag (a rollback) keeps
    the repository and runs an image already in it, building nothing."""
    if settings.image:
        return settings.image, ecr_repository_arn_of(settings.image)
    built = ApiImage(
        "image",
        ApiImageArgs(
            environment_suffix=suffix,
            cpu_architecture=settings.cpu_architecture,
            keep_images=settings.ecr_keep_images,
            account_id=account_id,
            custodians=custodians,
            image_tag=settings.image_tag,
        ),
        opts,
    )
    return built.image_ref, built.repository_arn

"""ApiImage component: the API's container image, built from ``app/api`` and pushed to ECR.

Creates the ECR repository ``api-{suffix}`` (scan on push, immutable tags, encrypted with
its own customer-managed key ``alias/ecr-{suffix}`` usable only through ECR, deleted with its
images on destroy, a lifecycle rule keeping the newest N images) and
builds ``app/api`` with pulumi-docker-build at ``pulumi up`` (Docker is a deploy
prerequisite). The tag is a hash of everything that goes into the image (the Dockerfile,
which pins the base image by digest, and the files the build context sends) and names the
platform, so an unchanged API is not pushed again, and whatever rebuilds the image (a new
base, another CPU architecture) pushes a new tag: the repository's tags are immutable, and
ECR refuses a second push of one.

Used only when ``payments:apiImage`` is not set; ``ecr_repository_arn_of`` finds the
repository of one that is, for the pull permission.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_aws as aws
import pulumi_docker_build as docker_build

from payments_infra import REPO_ROOT
from payments_infra.aws.keys import customer_managed_key, ecr_key_policy
from payments_infra.aws.naming import physical_name
from payments_infra.aws.tagging import name_tag

API_SOURCE = REPO_ROOT / "app" / "api"
# What goes into the image (the Dockerfile copies these); tests and caches do not.
IMAGE_INPUTS = ("Dockerfile", "requirements.txt", "payments_api", "certs")


def source_tag(cpu_architecture: str, source: Path = API_SOURCE) -> str:
    """A tag that changes exactly when what goes into the image changes: its files, the base
    image the Dockerfile pins, the platform (``ARM64`` or ``X86_64``)."""
    digest = hashlib.sha256()
    for entry in IMAGE_INPUTS:
        path = source / entry
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            if "__pycache__" in file.parts:
                continue
            digest.update(str(file.relative_to(source)).encode())
            digest.update(file.read_bytes())
    return f"src-{digest.hexdigest()[:16]}-{cpu_architecture.lower().replace('_', '-')}"


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


class ApiImage(pulumi.ComponentResource):
    """The ECR repository and the image built from app/api."""

    def __init__(
        self, name: str, args: ApiImageArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("payments:image:ApiImage", name, None, opts)
        repository_name = physical_name("ecr_repository", args.environment_suffix)
        # Its own key rather than the logs or database key: their policies admit only their
        # services, and ECR's grants on a shared key would reach their data.
        self.key = customer_managed_key(
            f"{name}-key",
            description=f"Images of the ECR repository {repository_name}",
            policy=pulumi.Output.from_input(args.account_id).apply(ecr_key_policy),
            name_key="ecr_kms_key",
            alias_key="ecr_kms_alias",
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
        token = aws.ecr.get_authorization_token_output(
            registry_id=self.repository.registry_id,
            opts=pulumi.InvokeOutputOptions(parent=self),
        )
        platform = (
            docker_build.Platform.LINUX_ARM64
            if args.cpu_architecture == "ARM64"
            else docker_build.Platform.LINUX_AMD64
        )
        self.image = docker_build.Image(
            f"{name}-build",
            docker_build.ImageArgs(
                context=docker_build.BuildContextArgs(location=str(API_SOURCE)),
                platforms=[platform],
                push=True,
                tags=[
                    self.repository.repository_url.apply(
                        lambda url: f"{url}:{source_tag(args.cpu_architecture)}"
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
            # Same name, same URL: without this, a replaced repository would keep the old
            # image's state and never be pushed to.
            opts=pulumi.ResourceOptions(parent=self, replace_with=[self.repository]),
        )
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

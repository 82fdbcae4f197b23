"""Run the real Pulumi program offline, under recording mocks, and return its ``Graph``.

Pulumi has no offline "synth": this is ours. ``record_program`` installs mocks that answer
like AWS would (placeholder ids and ARNs, no network) and a monitor that keeps every
resource registration, runs ``__main__.py`` exactly as ``pulumi up`` would, and returns a
``Graph`` that ``plan.py``, ``checks.py`` and the tests query.

Values AWS computes (ids, ARNs, endpoints) are placeholders here, e.g. ``network-vpc-id``.
"""

from __future__ import annotations

import asyncio
import logging
import runpy
from collections.abc import Callable, Mapping
from typing import Any

import pulumi
from pulumi.runtime import mocks, rpc, settings

from payments_infra import PROJECT, REPO_ROOT
from payments_infra.offline.graph import Graph, Resource, SecretValue

PROGRAM = REPO_ROOT / "__main__.py"
MOCK_ACCOUNT_ID = "123456789012"
# us-east-1 has six zones; answering with all of them exercises the "first three" choice.
MOCK_ZONES = [f"us-east-1{letter}" for letter in "abcdef"]
# Their zone IDs, shuffled as an account's are (names map to physical zones per account): the
# limited use1-az3 sits behind us-east-1e, so the default plan keeps us-east-1a, b and c.
# tests/unit/test_config.py moves it behind other names.
MOCK_ZONE_IDS = ["use1-az6", "use1-az1", "use1-az2", "use1-az4", "use1-az3", "use1-az5"]
# The minor version the mocks answer for "the default of this major version".
MOCK_DEFAULT_MINOR = 6
# What the mocked RandomPassword returns, so tests can search the graph for it.
MOCK_PASSWORD = "mock-password-0123456789-abcdef"
MOCK_S3_PREFIX_LIST_ID = "pl-63a5400a"
MOCK_PRIVATE_KEY = "-----BEGIN PRIVATE KEY-----\nmock-private-key\n-----END PRIVATE KEY-----"


def _plain(value: Any) -> Any:
    """Turn the engine's wire values into plain Python, keeping secrets recognisable."""
    if rpc.is_rpc_secret(value):
        return SecretValue(_plain(rpc.unwrap_rpc_secret(value)))
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


class PlaceholderMocks(pulumi.runtime.Mocks):
    """Answers like AWS, with placeholders: ``<logical name>-id`` and an ARN for each resource."""

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        resource_id = f"{args.name}-id"
        outputs = dict(args.inputs)
        if args.typ.startswith("aws:"):
            outputs.setdefault("arn", _placeholder_arn(args.typ, args.inputs, resource_id))
        outputs.update(COMPUTED_OUTPUTS.get(args.typ, dict)(args.inputs))
        return resource_id, outputs

    def call(
        self, args: pulumi.runtime.MockCallArgs
    ) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        if args.token == "aws:index/getAvailabilityZones:getAvailabilityZones":
            return {
                "id": "us-east-1",
                "names": list(MOCK_ZONES),
                "zoneIds": list(MOCK_ZONE_IDS),
            }, []
        if args.token == "aws:rds/getEngineVersion:getEngineVersion":
            requested = args.args["version"]
            major = requested.split(".")[0]
            exact = requested if "." in requested else f"{major}.{MOCK_DEFAULT_MINOR}"
            return {
                "id": exact,
                "engine": "aurora-postgresql",
                "version": exact,
                "versionActual": exact,
                "parameterGroupFamily": f"aurora-postgresql{major}",
            }, []
        if args.token == "aws:ecr/getAuthorizationToken:getAuthorizationToken":
            return {
                "id": MOCK_ACCOUNT_ID,
                "userName": "AWS",
                "password": "mock-ecr-token",
                "authorizationToken": "bW9jaw==",
                "proxyEndpoint": f"https://{MOCK_ACCOUNT_ID}.dkr.ecr.us-east-1.amazonaws.com",
                "expiresAt": "2030-01-01T00:00:00Z",
            }, []
        if args.token == "aws:ec2/getManagedPrefixList:getManagedPrefixList":
            return {"id": "pl-3b927c52", "name": args.args.get("name"), "entries": []}, []
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {
                "id": MOCK_ACCOUNT_ID,
                "accountId": MOCK_ACCOUNT_ID,
                "arn": f"arn:aws:iam::{MOCK_ACCOUNT_ID}:user/plan",
                "userId": "AIDAPLACEHOLDER",
            }, []
        if args.token == "aws:iam/getSessionContext:getSessionContext":
            # The caller above is a user: the provider passes a non-session ARN through.
            arn = args.args["arn"]
            return {"arn": arn, "issuerArn": arn, "id": arn}, []
        # A new data source must be answered here on purpose, never silently with nothing.
        raise NotImplementedError(f"recording mocks do not answer {args.token}")


def _rds_cluster(inputs: Mapping[str, Any]) -> dict[str, Any]:
    name = inputs["clusterIdentifier"]
    return {
        "endpoint": f"{name}.cluster-placeholder.us-east-1.rds.amazonaws.com",
        "readerEndpoint": f"{name}.cluster-ro-placeholder.us-east-1.rds.amazonaws.com",
        "port": 5432,
    }


def _acm_certificate(inputs: Mapping[str, Any]) -> dict[str, Any]:
    if not inputs.get("domainName"):  # an imported certificate has no validation
        return {}
    domain = inputs["domainName"]
    return {
        "domainValidationOptions": [
            {
                "domainName": domain,
                "resourceRecordName": f"_placeholder.{domain}.",
                "resourceRecordType": "CNAME",
                "resourceRecordValue": "_placeholder.acm-validations.aws.",
            }
        ]
    }


def _vpc_endpoint(inputs: Mapping[str, Any]) -> dict[str, Any]:
    if inputs.get("vpcEndpointType") != "Gateway":
        return {}
    # A gateway endpoint's service as a managed prefix list (us-east-1's S3 list has this id).
    return {"prefixListId": MOCK_S3_PREFIX_LIST_ID}


ZERO_DIGEST = f"sha256:{'0' * 64}"
# The provider-computed outputs the program reads, as placeholders, by resource type.
COMPUTED_OUTPUTS: dict[str, Callable[[Mapping[str, Any]], dict[str, Any]]] = {
    "aws:rds/cluster:Cluster": _rds_cluster,
    "aws:acm/certificate:Certificate": _acm_certificate,
    "aws:ec2/vpcEndpoint:VpcEndpoint": _vpc_endpoint,
    "random:index/randomPassword:RandomPassword": lambda _: {"result": MOCK_PASSWORD},
    "aws:kms/key:Key": lambda _: {"keyId": "placeholder-key-id"},
    "aws:lb/loadBalancer:LoadBalancer": lambda i: {
        "dnsName": f"{i['name']}-1234567890.us-east-1.elb.amazonaws.com",
        "zoneId": "Z35SXDOTRQ7X7K",
        "arnSuffix": f"app/{i['name']}/50dc6c495c0c9188",
    },
    "aws:lb/targetGroup:TargetGroup": lambda i: {
        "arnSuffix": f"targetgroup/{i['name']}/73e2d6bc24d8a067"
    },
    "aws:ecr/repository:Repository": lambda i: {
        "repositoryUrl": f"{MOCK_ACCOUNT_ID}.dkr.ecr.us-east-1.amazonaws.com/{i['name']}",
        "registryId": MOCK_ACCOUNT_ID,
    },
    "docker-build:index:Image": lambda i: {
        "ref": f"{i['tags'][0]}@{ZERO_DIGEST}",
        "digest": ZERO_DIGEST,
    },
    "aws:route53/record:Record": lambda i: {"fqdn": i.get("name", "")},
    "tls:index/privateKey:PrivateKey": lambda _: {"privateKeyPem": MOCK_PRIVATE_KEY},
    "tls:index/selfSignedCert:SelfSignedCert": lambda _: {
        "certPem": "-----BEGIN CERTIFICATE-----\nplaceholder\n-----END CERTIFICATE-----"
    },
    "aws:cloudfront/distribution:Distribution": lambda _: {
        "domainName": "d111111abcdef8.cloudfront.net",
        "hostedZoneId": "Z2FDTNDATAQYW2",
    },
    "aws:s3/bucket:Bucket": lambda i: {
        "bucketRegionalDomainName": f"{i['bucket']}.s3.us-east-1.amazonaws.com"
    },
}


def _placeholder_arn(type_token: str, inputs: Mapping[str, Any], resource_id: str) -> str:
    service = type_token.split(":")[1].split("/", maxsplit=1)[0]
    if type_token == "aws:cloudwatch/logGroup:LogGroup":
        return f"arn:aws:logs:us-east-1:{MOCK_ACCOUNT_ID}:log-group:{inputs['name']}"
    if service == "iam":
        return f"arn:aws:iam::{MOCK_ACCOUNT_ID}:role/{inputs.get('name', resource_id)}"
    return f"arn:aws:{service}:us-east-1:{MOCK_ACCOUNT_ID}:{resource_id}"


class RecordingMonitor(mocks.MockMonitor):
    """The mock monitor, keeping each registration request as a ``Resource``."""

    def __init__(self, mock: pulumi.runtime.Mocks) -> None:
        super().__init__(mock)
        self.recorded: list[Resource] = []

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 (gRPC method name)
        response = super().RegisterResource(request)  # type: ignore[no-untyped-call]
        if request.type == "pulumi:pulumi:Stack":
            return response
        urn = self.make_urn(request.parent, request.type, request.name)
        registered = self.resources[urn]
        self.recorded.append(
            Resource(
                urn=urn,
                type=request.type,
                name=request.name,
                custom=request.custom,
                parent=request.parent,
                provider=request.provider,
                inputs=_plain(rpc.deserialize_properties(request.object)),
                outputs=_plain(registered.state),
                id=registered.id or "",
                dependencies=list(request.dependencies),
                protect=request.protect,
                retain_on_delete=request.retainOnDelete,
                ignore_changes=list(request.ignoreChanges),
                custom_timeouts={
                    operation: value
                    for operation in ("create", "update", "delete")
                    if (value := getattr(request.customTimeouts, operation))
                },
                aliases=[_alias_urn(request, alias) for alias in request.aliases],
                replace_with=list(request.replace_with),
            )
        )
        return response


def _urn(stack: str, project: str, parent: str, type_: str, name: str) -> str:
    # The mock monitor's own URN scheme (MockMonitor.make_urn): the parent's own type only,
    # not the engine's whole chain, so an alias names a URN this recording can have made.
    parent_type = "pulumi:pulumi:Stack"
    if parent:
        parent_type = parent.split("::")[2].rsplit("$", maxsplit=1)[-1]
    qualified = type_ if parent_type == "pulumi:pulumi:Stack" else f"{parent_type}${type_}"
    return f"urn:pulumi:{stack}::{project}::{qualified}::{name}"


def _alias_urn(request: Any, alias: Any) -> str:
    """The URN an alias names; a spec's unset fields mean "as the resource is now"."""
    if alias.urn:
        return str(alias.urn)
    spec = alias.spec
    parent = "" if spec.noParent else (spec.parentUrn or request.parent)
    return _urn(
        spec.stack or pulumi.get_stack(),
        spec.project or PROJECT,
        parent,
        spec.type or request.type,
        spec.name or request.name,
    )


class WarningRecorder(logging.Handler):
    """Keeps the messages the program logs at WARNING or above (the mock engine's log)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def record_program(
    config: Mapping[str, str], *, stack: str = "dev", monitor: RecordingMonitor | None = None
) -> Graph:
    """Run ``__main__.py`` under recording mocks with this config; return what it registered.

    Exceptions from the program (``ConfigError`` for bad settings) propagate unchanged.
    Each call starts from a fresh root stack, so one process can record many programs.
    Pass a ``monitor`` to look at what was registered even when the program fails.
    """
    monitor = monitor or RecordingMonitor(PlaceholderMocks())
    pulumi.runtime.set_all_config(dict(config))
    settings.set_root_resource(None)  # type: ignore[arg-type]  # a fresh Stack per run
    # The engine log of this run only: a logger of its own, not the root logger.
    warnings = WarningRecorder()
    engine_log = logging.Logger(f"payments.program.{stack}")
    engine_log.addHandler(warnings)
    pulumi.runtime.set_mocks(
        monitor.mocks,
        project=PROJECT,
        stack=stack,
        preview=False,
        logger=engine_log,
        monitor=monitor,
    )
    stack_outputs: dict[str, Any] = {}

    async def resolve_exports() -> None:
        # The mock monitor never receives the stack's outputs, so read the exports here.
        root = settings.get_root_resource()
        for key, value in getattr(root, "outputs", {}).items():
            output = pulumi.Output.from_input(value)
            resolved = _plain(await output.future())
            stack_outputs[key] = SecretValue(resolved) if await output.is_secret() else resolved

    @pulumi.runtime.test  # type: ignore[untyped-decorator]  # pulumi's decorator is untyped
    def run() -> pulumi.Output[None]:
        runpy.run_path(str(PROGRAM), run_name="__main__")
        return pulumi.Output.from_input(asyncio.ensure_future(resolve_exports()))

    run()
    return Graph(monitor.recorded, stack_outputs, warnings.messages)

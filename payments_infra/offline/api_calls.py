"""Which AWS API call creates each resource type: the reviewed table behind ``api_model.py``.

One row per pulumi-aws type, an ``ApiCall`` (``api_call.py`` says how its overrides read): the
botocore service, the operations whose input shapes hold the resource's inputs (the create call
first, then the calls the provider makes after it, such as ``PutRetentionPolicy`` for a log
group's retention), and the members that normalised names cannot find. The rows of the types a
request travels through (network, load balancer, WAF, CloudFront, DNS) are in
``api_calls_network.py``, the rest here. Types no API call creates are listed with the reason.
A new type in the graph is "not reviewed" until it is added to one table or the other.
"""

from __future__ import annotations

from payments_infra.offline.api_call import ApiCall
from payments_infra.offline.api_calls_network import NETWORK_API_CALLS

NOTIFICATIONS = "NotificationConfiguration"

API_CALLS: dict[str, ApiCall] = {
    # The network, the load balancer, WAF, CloudFront and DNS: api_calls_network.py.
    **NETWORK_API_CALLS,
    # Keys and secrets
    "aws:kms/key:Key": ApiCall(
        "kms",
        ("CreateKey", "ScheduleKeyDeletion"),
        {
            "deletionWindowInDays": "ScheduleKeyDeletion:PendingWindowInDays",
            "enableKeyRotation": None,  # whether EnableKeyRotation is called: no value sent
        },
    ),
    "aws:kms/alias:Alias": ApiCall("kms", ("CreateAlias",), {"name": "AliasName"}),
    "aws:secretsmanager/secret:Secret": ApiCall(
        "secretsmanager",
        ("CreateSecret", "DeleteSecret"),
        {"recoveryWindowInDays": "DeleteSecret:RecoveryWindowInDays"},
    ),
    "aws:secretsmanager/secretVersion:SecretVersion": ApiCall(
        "secretsmanager", ("PutSecretValue",)
    ),
    "aws:secretsmanager/secretPolicy:SecretPolicy": ApiCall(
        "secretsmanager",
        ("PutResourcePolicy",),
        {"secretArn": "SecretId", "policy": "ResourcePolicy"},
    ),
    "aws:secretsmanager/secretRotation:SecretRotation": ApiCall(
        "secretsmanager", ("RotateSecret",), {"rotationLambdaArn": "RotationLambdaARN"}
    ),
    # Database
    "aws:rds/subnetGroup:SubnetGroup": ApiCall("rds", ("CreateDBSubnetGroup",)),
    "aws:rds/clusterParameterGroup:ClusterParameterGroup": ApiCall(
        "rds",
        ("CreateDBClusterParameterGroup", "ModifyDBClusterParameterGroup"),
        {"name": "DBClusterParameterGroupName", "family": "DBParameterGroupFamily"},
    ),
    "aws:rds/cluster:Cluster": ApiCall(
        "rds",
        ("CreateDBCluster",),
        {
            "clusterIdentifier": "DBClusterIdentifier",
            "serverlessv2ScalingConfiguration": "ServerlessV2ScalingConfiguration",
            "enabledCloudwatchLogsExports": "EnableCloudwatchLogsExports",
            "iamDatabaseAuthenticationEnabled": "EnableIAMDatabaseAuthentication",
            "masterPassword": "MasterUserPassword",
            "skipFinalSnapshot": "DeleteDBCluster:SkipFinalSnapshot",
            "finalSnapshotIdentifier": "DeleteDBCluster:FinalDBSnapshotIdentifier",
        },
    ),
    "aws:rds/clusterInstance:ClusterInstance": ApiCall(
        "rds",
        ("CreateDBInstance",),
        {
            "identifier": "DBInstanceIdentifier",
            "clusterIdentifier": "DBClusterIdentifier",
            "instanceClass": "DBInstanceClass",
            "performanceInsightsEnabled": "EnablePerformanceInsights",
        },
    ),
    # Service
    "aws:ecs/cluster:Cluster": ApiCall("ecs", ("CreateCluster",), {"name": "clusterName"}),
    "aws:ecs/clusterCapacityProviders:ClusterCapacityProviders": ApiCall(
        "ecs", ("PutClusterCapacityProviders",), {"clusterName": "cluster"}
    ),
    "aws:ecs/taskDefinition:TaskDefinition": ApiCall(
        "ecs", ("RegisterTaskDefinition",), {"skipDestroy": None}
    ),
    "aws:ecs/service:Service": ApiCall(
        "ecs",
        ("CreateService",),
        {
            "name": "serviceName",
            "deploymentCircuitBreaker": "deploymentConfiguration.deploymentCircuitBreaker",
            "deploymentMaximumPercent": "deploymentConfiguration.maximumPercent",
            "deploymentMinimumHealthyPercent": "deploymentConfiguration.minimumHealthyPercent",
            "networkConfiguration.subnets": "networkConfiguration.awsvpcConfiguration.subnets",
            "networkConfiguration.securityGroups": (
                "networkConfiguration.awsvpcConfiguration.securityGroups"
            ),
            # A boolean here, the ENABLED/DISABLED enum in the API: the provider translates.
            "networkConfiguration.assignPublicIp": None,
            "waitForSteadyState": None,
        },
    ),
    "aws:appautoscaling/target:Target": ApiCall(
        "application-autoscaling", ("RegisterScalableTarget",)
    ),
    "aws:appautoscaling/policy:Policy": ApiCall("application-autoscaling", ("PutScalingPolicy",)),
    "aws:ecr/repository:Repository": ApiCall(
        "ecr",
        ("CreateRepository",),
        {
            "name": "repositoryName",
            "encryptionConfigurations": "encryptionConfiguration",
            "forceDelete": None,
        },
    ),
    "aws:ecr/lifecyclePolicy:LifecyclePolicy": ApiCall(
        "ecr",
        ("PutLifecyclePolicy",),
        {"repository": "repositoryName", "policy": "lifecyclePolicyText"},
    ),
    # Functions
    "aws:lambda/function:Function": ApiCall(
        "lambda",
        ("CreateFunction",),
        {
            "name": "FunctionName",
            "code": None,  # an archive the provider zips: its size is Lambda's limit, not a rule
            "reservedConcurrentExecutions": "PutFunctionConcurrency:ReservedConcurrentExecutions",
            "replaceSecurityGroupsOnDestroy": None,
            "replacementSecurityGroupIds": None,
        },
    ),
    "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig": ApiCall(
        "lambda", ("PutFunctionEventInvokeConfig",)
    ),
    "aws:lambda/permission:Permission": ApiCall(
        "lambda", ("AddPermission",), {"function": "FunctionName"}
    ),
    # A synchronous Invoke (RequestResponse) of the migration runner during `pulumi up`.
    "aws:lambda/invocation:Invocation": ApiCall(
        "lambda",
        ("Invoke",),
        {"input": "Payload", "triggers": None},  # triggers: the provider's own re-run keys
    ),
    # Storage
    "aws:s3/bucket:Bucket": ApiCall(
        "s3", ("CreateBucket",), {"forceDestroy": None, "tags": "PutBucketTagging:Tagging.TagSet"}
    ),
    "aws:s3/bucketPolicy:BucketPolicy": ApiCall("s3", ("PutBucketPolicy",)),
    "aws:s3/bucketNotification:BucketNotification": ApiCall(
        "s3",
        ("PutBucketNotificationConfiguration",),
        {
            "lambdaFunctions": f"{NOTIFICATIONS}.LambdaFunctionConfigurations",
            "lambdaFunctions.lambdaFunctionArn": (
                f"{NOTIFICATIONS}.LambdaFunctionConfigurations.LambdaFunctionArn"
            ),
            # Both become Filter.Key.FilterRules[].Value, with no rule of their own.
            "lambdaFunctions.filterPrefix": None,
            "lambdaFunctions.filterSuffix": None,
        },
    ),
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": ApiCall(
        "s3",
        ("PutPublicAccessBlock",),
        roots={"PutPublicAccessBlock": "PublicAccessBlockConfiguration"},
        members={"bucket": "Bucket"},
    ),
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": ApiCall(
        "s3", ("PutBucketOwnershipControls",), {"rule": "OwnershipControls.Rules"}
    ),
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": (
        ApiCall(
            "s3", ("PutBucketEncryption",), {"rules": "ServerSideEncryptionConfiguration.Rules"}
        )
    ),
    "aws:s3/bucketVersioning:BucketVersioning": ApiCall("s3", ("PutBucketVersioning",)),
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": ApiCall(
        "s3", ("PutBucketLifecycleConfiguration",), {"rules": "LifecycleConfiguration.Rules"}
    ),
    "aws:s3/bucketObjectv2:BucketObjectv2": ApiCall(
        "s3",
        ("PutObject",),
        {"source": None, "tags": "PutObjectTagging:Tagging.TagSet"},  # the file: no rule
    ),
    # Logs, metrics, alarms
    "aws:cloudwatch/logGroup:LogGroup": ApiCall(
        "logs", ("CreateLogGroup", "PutRetentionPolicy"), {"name": "logGroupName"}
    ),
    "aws:cloudwatch/logSubscriptionFilter:LogSubscriptionFilter": ApiCall(
        "logs", ("PutSubscriptionFilter",), {"name": "filterName", "logGroup": "logGroupName"}
    ),
    "aws:cloudwatch/logDeliverySource:LogDeliverySource": ApiCall("logs", ("PutDeliverySource",)),
    "aws:cloudwatch/logDeliveryDestination:LogDeliveryDestination": ApiCall(
        "logs", ("PutDeliveryDestination",)
    ),
    "aws:cloudwatch/logDelivery:LogDelivery": ApiCall("logs", ("CreateDelivery",)),
    "aws:cloudwatch/logResourcePolicy:LogResourcePolicy": ApiCall("logs", ("PutResourcePolicy",)),
    "aws:cloudwatch/logMetricFilter:LogMetricFilter": ApiCall(
        "logs",
        ("PutMetricFilter",),
        {
            "name": "filterName",
            "pattern": "filterPattern",
            "metricTransformation": "metricTransformations",
            "metricTransformation.value": "metricTransformations.metricValue",
        },
    ),
    "aws:cloudwatch/metricAlarm:MetricAlarm": ApiCall(
        "cloudwatch",
        ("PutMetricAlarm",),
        {
            "name": "AlarmName",
            "metricQueries": "Metrics",
            "metricQueries.metric": "Metrics.MetricStat",
            "metricQueries.metric.metricName": "Metrics.MetricStat.Metric.MetricName",
            "metricQueries.metric.namespace": "Metrics.MetricStat.Metric.Namespace",
            "metricQueries.metric.dimensions": "Metrics.MetricStat.Metric.Dimensions",
        },
    ),
    "aws:cloudwatch/dashboard:Dashboard": ApiCall("cloudwatch", ("PutDashboard",)),
    "aws:sns/topic:Topic": ApiCall("sns", ("CreateTopic",)),
    "aws:sns/topicSubscription:TopicSubscription": ApiCall(
        "sns", ("Subscribe",), {"topic": "TopicArn"}
    ),
    "aws:sns/topicPolicy:TopicPolicy": ApiCall(
        "sns", ("SetTopicAttributes",), {"arn": "TopicArn", "policy": "AttributeValue"}
    ),
    # Findings to on-call (account/findings.py)
    "aws:cloudwatch/eventRule:EventRule": ApiCall("events", ("PutRule",)),
    "aws:cloudwatch/eventTarget:EventTarget": ApiCall(
        "events",
        ("PutTargets",),
        {
            "targetId": "Targets.Id",
            "arn": "Targets.Arn",
            "inputTransformer": "Targets.InputTransformer",
            "inputTransformer.inputPaths": "Targets.InputTransformer.InputPathsMap",
        },
    ),
    "aws:sqs/queue:Queue": ApiCall(
        "sqs",
        ("CreateQueue",),
        {
            "name": "QueueName",
            # Attributes, a string-to-string map with no rule on its values in the model.
            "messageRetentionSeconds": None,
            "sqsManagedSseEnabled": None,
        },
    ),
    "aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream": ApiCall(
        "firehose",
        ("CreateDeliveryStream",),
        {
            "name": "DeliveryStreamName",
            "destination": None,  # picks which *DestinationConfiguration the provider sends
            "extendedS3Configuration": "ExtendedS3DestinationConfiguration",
            "extendedS3Configuration.bufferingInterval": (
                "ExtendedS3DestinationConfiguration.BufferingHints.IntervalInSeconds"
            ),
            "extendedS3Configuration.bufferingSize": (
                "ExtendedS3DestinationConfiguration.BufferingHints.SizeInMBs"
            ),
            "serverSideEncryption": "DeliveryStreamEncryptionConfigurationInput",
            "serverSideEncryption.enabled": None,  # StartDeliveryStreamEncryption or not
        },
    ),
    # Identity
    "aws:iam/role:Role": ApiCall(
        "iam", ("CreateRole",), {"name": "RoleName", "assumeRolePolicy": "AssumeRolePolicyDocument"}
    ),
    "aws:iam/rolePolicy:RolePolicy": ApiCall(
        "iam",
        ("PutRolePolicy",),
        {"name": "PolicyName", "policy": "PolicyDocument", "role": "RoleName"},
    ),
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": ApiCall(
        "iam", ("AttachRolePolicy",), {"role": "RoleName"}
    ),
    # Account controls
    "aws:cloudtrail/trail:Trail": ApiCall(
        "cloudtrail",
        ("CreateTrail", "PutEventSelectors"),
        {
            "tags": "TagsList",
            "cloudWatchLogsGroupArn": "CloudWatchLogsLogGroupArn",
            "enableLogging": None,  # StartLogging or StopLogging: no value sent
        },
    ),
    "aws:guardduty/detector:Detector": ApiCall("guardduty", ("CreateDetector",)),
    "aws:securityhub/account:Account": ApiCall(
        "securityhub", ("EnableSecurityHub", "UpdateSecurityHubConfiguration")
    ),
    "aws:securityhub/standardsSubscription:StandardsSubscription": ApiCall(
        "securityhub",
        ("BatchEnableStandards",),
        {"standardsArn": "StandardsSubscriptionRequests.StandardsArn"},
    ),
    "aws:cfg/recorder:Recorder": ApiCall(
        "config",
        ("PutConfigurationRecorder",),
        roots={"PutConfigurationRecorder": "ConfigurationRecorder"},
    ),
    "aws:cfg/deliveryChannel:DeliveryChannel": ApiCall(
        "config", ("PutDeliveryChannel",), roots={"PutDeliveryChannel": "DeliveryChannel"}
    ),
    "aws:cfg/recorderStatus:RecorderStatus": ApiCall(
        "config",
        ("StartConfigurationRecorder",),
        {"name": "ConfigurationRecorderName", "isEnabled": None},  # Start or Stop
    ),
}

# Resource types no AWS API call creates, and why.
NOT_API_CALLS: dict[str, str] = {
    "aws:acm/certificateValidation:CertificateValidation": (
        "a waiter in the provider (it polls DescribeCertificate): nothing is sent"
    ),
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": (
        "adopts the VPC's default group, which AWS made: the provider only revokes its rules"
    ),
    "docker-build:index:Image": "built and pushed by Docker, not an AWS API call",
    "random:index/randomPassword:RandomPassword": "made by the random provider, never sent",
    "tls:index/privateKey:PrivateKey": "made by the tls provider, never sent",
    "tls:index/selfSignedCert:SelfSignedCert": "made by the tls provider, never sent",
}

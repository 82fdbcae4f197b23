"""Which AWS API call creates each resource type: the reviewed table behind ``api_model.py``.

One row per pulumi-aws type: the botocore service, the operations whose input shapes hold
the resource's inputs (the create call first, then the calls the provider makes after it,
such as ``PutRetentionPolicy`` for a log group's retention), and the members that normalised
names cannot find. An override maps an input path (list indices left out) to
``"Operation:Member.Path"`` (the first operation when the prefix is left out), or to None for
an input the provider keeps to itself. Types no API call creates are listed with the reason.
A new type in the graph is "not reviewed" until it is added to one table or the other.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ApiCall:
    service: str
    """botocore's service name (``elbv2``, ``wafv2``...)."""
    operations: tuple[str, ...]
    """The calls whose input shapes hold the resource's inputs, the create call first."""
    members: dict[str, str | None] = field(default_factory=dict)
    """Input path -> "Operation:Member.Path" where normalised names do not find it."""
    roots: dict[str, str] = field(default_factory=dict)
    """Operation -> the member under which that call takes the top-level inputs."""


# EC2 takes tags at creation as TagSpecifications[].Tags.
EC2_TAGS: dict[str, str | None] = {"tags": "TagSpecifications.Tags"}
DISTRIBUTION = "DistributionConfigWithTags.DistributionConfig"
NOTIFICATIONS = "NotificationConfiguration"
# One rule of a security group, as one IpPermissions entry of the Authorize call.
SECURITY_GROUP_RULE: dict[str, str | None] = {
    **EC2_TAGS,
    "ipProtocol": "IpPermissions.IpProtocol",
    "fromPort": "IpPermissions.FromPort",
    "toPort": "IpPermissions.ToPort",
    "cidrIpv4": "IpPermissions.IpRanges.CidrIp",
    "cidrIpv6": "IpPermissions.Ipv6Ranges.CidrIpv6",
    "prefixListId": "IpPermissions.PrefixListIds.PrefixListId",
    "referencedSecurityGroupId": "IpPermissions.UserIdGroupPairs.GroupId",
    "description": "IpPermissions.IpRanges.Description",
}

API_CALLS: dict[str, ApiCall] = {
    # Network
    "aws:ec2/vpc:Vpc": ApiCall("ec2", ("CreateVpc", "ModifyVpcAttribute"), EC2_TAGS),
    "aws:ec2/subnet:Subnet": ApiCall(
        "ec2",
        ("CreateSubnet", "ModifySubnetAttribute"),
        {**EC2_TAGS, "mapPublicIpOnLaunch": "ModifySubnetAttribute:MapPublicIpOnLaunch"},
    ),
    "aws:ec2/internetGateway:InternetGateway": ApiCall(
        "ec2", ("CreateInternetGateway", "AttachInternetGateway"), EC2_TAGS
    ),
    "aws:ec2/eip:Eip": ApiCall("ec2", ("AllocateAddress",), EC2_TAGS),
    "aws:ec2/natGateway:NatGateway": ApiCall("ec2", ("CreateNatGateway",), EC2_TAGS),
    "aws:ec2/routeTable:RouteTable": ApiCall("ec2", ("CreateRouteTable",), EC2_TAGS),
    "aws:ec2/route:Route": ApiCall("ec2", ("CreateRoute",)),
    "aws:ec2/routeTableAssociation:RouteTableAssociation": ApiCall("ec2", ("AssociateRouteTable",)),
    "aws:ec2/flowLog:FlowLog": ApiCall(
        "ec2",
        ("CreateFlowLogs",),
        {**EC2_TAGS, "vpcId": "ResourceIds", "iamRoleArn": "DeliverLogsPermissionArn"},
    ),
    "aws:ec2/securityGroup:SecurityGroup": ApiCall(
        "ec2", ("CreateSecurityGroup",), {**EC2_TAGS, "name": "GroupName"}
    ),
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": ApiCall(
        "ec2", ("AuthorizeSecurityGroupIngress",), SECURITY_GROUP_RULE
    ),
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": ApiCall(
        "ec2", ("AuthorizeSecurityGroupEgress",), SECURITY_GROUP_RULE
    ),
    "aws:ec2/vpcEndpoint:VpcEndpoint": ApiCall(
        "ec2", ("CreateVpcEndpoint",), {**EC2_TAGS, "policy": "PolicyDocument"}
    ),
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
    # Load balancer
    "aws:lb/loadBalancer:LoadBalancer": ApiCall(
        "elbv2",
        ("CreateLoadBalancer",),
        {
            "loadBalancerType": "Type",
            # The rest are ModifyLoadBalancerAttributes key/value strings the provider writes.
            "internal": None,
            "accessLogs": None,
            "desyncMitigationMode": None,
            "dropInvalidHeaderFields": None,
            "enableDeletionProtection": None,
        },
    ),
    "aws:lb/targetGroup:TargetGroup": ApiCall(
        "elbv2",
        ("CreateTargetGroup",),
        {
            "healthCheck.enabled": "HealthCheckEnabled",
            "healthCheck.healthyThreshold": "HealthyThresholdCount",
            "healthCheck.unhealthyThreshold": "UnhealthyThresholdCount",
            "healthCheck.interval": "HealthCheckIntervalSeconds",
            "healthCheck.timeout": "HealthCheckTimeoutSeconds",
            "healthCheck.matcher": "Matcher.HttpCode",
            "healthCheck.path": "HealthCheckPath",
            "healthCheck.port": "HealthCheckPort",
            "healthCheck.protocol": "HealthCheckProtocol",
            "deregistrationDelay": None,  # a ModifyTargetGroupAttributes string
        },
    ),
    "aws:lb/listener:Listener": ApiCall(
        "elbv2",
        ("CreateListener",),
        {
            "certificateArn": "Certificates.CertificateArn",
            "defaultActions.fixedResponse": "DefaultActions.FixedResponseConfig",
            "defaultActions.forward": "DefaultActions.ForwardConfig",
        },
    ),
    "aws:lb/listenerRule:ListenerRule": ApiCall(
        "elbv2",
        ("CreateRule",),
        {
            "conditions.httpHeader": "Conditions.HttpHeaderConfig",
            "conditions.pathPattern": "Conditions.PathPatternConfig",
            "actions.fixedResponse": "Actions.FixedResponseConfig",
        },
    ),
    "aws:acm/certificate:Certificate": ApiCall("acm", ("RequestCertificate", "ImportCertificate")),
    # WAF
    "aws:wafv2/webAcl:WebAcl": ApiCall("wafv2", ("CreateWebACL",)),
    "aws:wafv2/ruleGroup:RuleGroup": ApiCall("wafv2", ("CreateRuleGroup",)),
    "aws:wafv2/webAclAssociation:WebAclAssociation": ApiCall("wafv2", ("AssociateWebACL",)),
    "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration": ApiCall(
        "wafv2",
        ("PutLoggingConfiguration",),
        roots={"PutLoggingConfiguration": "LoggingConfiguration"},
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
    # Storage and the edge
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
    "aws:cloudfront/distribution:Distribution": ApiCall(
        "cloudfront",
        ("CreateDistributionWithTags",),
        {
            "tags": "DistributionConfigWithTags.Tags.Items",
            "orderedCacheBehaviors": f"{DISTRIBUTION}.CacheBehaviors",
            "defaultCacheBehavior.cachedMethods": (
                f"{DISTRIBUTION}.DefaultCacheBehavior.AllowedMethods.CachedMethods"
            ),
            "orderedCacheBehaviors.cachedMethods": (
                f"{DISTRIBUTION}.CacheBehaviors.Items.AllowedMethods.CachedMethods"
            ),
            "origins.originId": f"{DISTRIBUTION}.Origins.Items.Id",
        },
        roots={"CreateDistributionWithTags": DISTRIBUTION},
    ),
    "aws:cloudfront/function:Function": ApiCall(
        "cloudfront",
        ("CreateFunction",),
        {
            "comment": "FunctionConfig.Comment",
            "runtime": "FunctionConfig.Runtime",
            "code": "FunctionCode",
            "publish": None,  # PublishFunction takes only the name
            "tags": "TagResource:Tags.Items",
        },
    ),
    "aws:cloudfront/originAccessControl:OriginAccessControl": ApiCall(
        "cloudfront",
        ("CreateOriginAccessControl",),
        roots={"CreateOriginAccessControl": "OriginAccessControlConfig"},
    ),
    "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy": ApiCall(
        "cloudfront",
        ("CreateResponseHeadersPolicy",),
        roots={"CreateResponseHeadersPolicy": "ResponseHeadersPolicyConfig"},
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
    "aws:route53/record:Record": ApiCall(
        "route53",
        ("ChangeResourceRecordSets",),
        {
            "zoneId": "HostedZoneId",
            "name": "ChangeBatch.Changes.ResourceRecordSet.Name",
            "type": "ChangeBatch.Changes.ResourceRecordSet.Type",
            "ttl": "ChangeBatch.Changes.ResourceRecordSet.TTL",
            "records": "ChangeBatch.Changes.ResourceRecordSet.ResourceRecords.Value",
            "aliases": "ChangeBatch.Changes.ResourceRecordSet.AliasTarget",
            "aliases.name": "ChangeBatch.Changes.ResourceRecordSet.AliasTarget.DNSName",
            "aliases.zoneId": "ChangeBatch.Changes.ResourceRecordSet.AliasTarget.HostedZoneId",
            "allowOverwrite": None,
        },
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

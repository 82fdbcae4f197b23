"""The reviewed API calls of the types a request travels through: the network (VPC, subnets,
routes, security groups, endpoints), the load balancer and its certificate, WAF, CloudFront
and Route 53. One part of ``api_calls.API_CALLS`` (``api_call.py`` says how a row reads).
"""

from __future__ import annotations

from payments_infra.offline.api_call import ApiCall

# EC2 takes tags at creation as TagSpecifications[].Tags.
EC2_TAGS: dict[str, str | None] = {"tags": "TagSpecifications.Tags"}
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
DISTRIBUTION = "DistributionConfigWithTags.DistributionConfig"

NETWORK_API_CALLS: dict[str, ApiCall] = {
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
    # The VPC resolver's DNS Firewall and query logs. The provider sends the domains after
    # creating the list, in one UpdateFirewallDomains call (at most 1000 per request).
    "aws:route53/resolverFirewallDomainList:ResolverFirewallDomainList": ApiCall(
        "route53resolver",
        ("CreateFirewallDomainList", "UpdateFirewallDomains"),
        {"domains": "UpdateFirewallDomains:Domains"},
    ),
    "aws:route53/resolverFirewallRuleGroup:ResolverFirewallRuleGroup": ApiCall(
        "route53resolver", ("CreateFirewallRuleGroup",)
    ),
    "aws:route53/resolverFirewallRule:ResolverFirewallRule": ApiCall(
        "route53resolver", ("CreateFirewallRule",), {"qType": "Qtype"}
    ),
    "aws:route53/resolverFirewallRuleGroupAssociation:ResolverFirewallRuleGroupAssociation": (
        ApiCall("route53resolver", ("AssociateFirewallRuleGroup",))
    ),
    "aws:route53/resolverFirewallConfig:ResolverFirewallConfig": ApiCall(
        "route53resolver", ("UpdateFirewallConfig",)
    ),
    "aws:route53/resolverQueryLogConfig:ResolverQueryLogConfig": ApiCall(
        "route53resolver", ("CreateResolverQueryLogConfig",)
    ),
    "aws:route53/resolverQueryLogConfigAssociation:ResolverQueryLogConfigAssociation": ApiCall(
        "route53resolver", ("AssociateResolverQueryLogConfig",)
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
            "idleTimeout": None,
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
    # CloudFront and DNS
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
}

"""functions/origin_header_rotation: the rotation of CloudFront's origin header value, as
Secrets Manager runs it, against moto's Secrets Manager and an in-memory fake of the three
places that hold the value (the ALB listener rule, the WAF rule group, the CloudFront
distribution: fake_edge.py), whose every request and response botocore's own models check.

The fake rather than moto for the three: moto's elbv2, wafv2 and cloudfront keep no
deployment state (a distribution is never InProgress) and do not model what an edge sends,
and the property under test is exactly that: after every request the function makes, every
value CloudFront's edges may send is accepted by the listener rule and labelled by the rule
group. test_requests.py pins each step's requests with botocore's Stubber instead.

edge_samples.py holds the stack's resources as AWS returns them; conftest.py the ``rig``.
"""

"""ALB access logs from S3 to CloudWatch Logs; the Lambda handler is handler.handler."""

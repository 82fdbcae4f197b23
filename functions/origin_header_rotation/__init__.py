"""Rotation of CloudFront's origin header secret; the Lambda handler is handler.handler."""

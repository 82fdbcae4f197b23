"""Tests of the Lambda functions under functions/."""

"""Lambda functions deployed by the stack, each in its own folder."""

"""What runs without AWS: the graph model and mocks, checks, plan, cost, docs, preflight."""

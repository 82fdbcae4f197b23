"""Building blocks every tier shares: names, tags, keys, logs, buckets, roles, policies."""

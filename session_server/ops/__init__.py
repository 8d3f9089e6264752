"""Operating a Kvorum node: metrics (issue 21)."""

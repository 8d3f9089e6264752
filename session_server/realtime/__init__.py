"""Fan-out after commit: this node's hub, the broker between nodes, and direct socket writes."""

"""The agent nodes of the graph: pm, dev, qa, supervisor, cto, merge."""

"""The graph's nodes, one module per group; only graphs.graph wires them (tests/test_architecture.py)."""

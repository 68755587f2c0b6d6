"""Example agents used by the demo and the docs."""

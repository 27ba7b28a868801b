"""Data tables the simulator ships (made from the real graph snapshot)."""

"""Scenario files shipped with the simulator (``<name>.yml``)."""

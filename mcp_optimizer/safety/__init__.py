"""Safety: pure gates, the kill switch, the circuit breaker, and the journaled write path.

:class:`mcp_optimizer.safety.actuator.Actuator` is the only code that writes to the node.
"""

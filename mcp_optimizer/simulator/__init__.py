"""A simulated LND node: node model, market model, behaviour profiles and scenarios.

The public interface is :mod:`mcp_optimizer.simulator.model` (``SimulatedNode`` and the
``Sim*`` records); the gRPC server in :mod:`mcp_optimizer.simulator.grpc` serves it.
"""

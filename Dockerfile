# syntax=docker/dockerfile:1
# MCP Lightning Optimizer: the Umbrel app's image (docs/umbrel.md). Multi-architecture as is:
# the base is a multi-platform index (linux/amd64, linux/arm64) and every compiled dependency
# in constraints.txt publishes manylinux wheels for x86_64 and aarch64.
#
# Base: python:3.11-slim-bookworm, pinned by its multi-platform index digest (docs/umbrel.md,
# "Base image"). To move it: docker buildx imagetools inspect python:3.11-slim-bookworm

# -- build: the wheel and a venv installed from the lock --------------------------------------
FROM python:3.11-slim-bookworm@sha256:b18992999dbe963a45a8a4da40ac2b1975be1a776d939d098c647482bcad5cba AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md constraints.txt ./
COPY scripts/image-install scripts/image-install
COPY mcp_optimizer mcp_optimizer
RUN sh scripts/image-install /opt/mcp-optimizer

# -- run: the venv alone, as user 1000 (Umbrel's) ---------------------------------------------
FROM python:3.11-slim-bookworm@sha256:b18992999dbe963a45a8a4da40ac2b1975be1a776d939d098c647482bcad5cba
LABEL org.opencontainers.image.title="MCP Lightning Optimizer" \
      org.opencontainers.image.description="A fee autopilot for LND nodes: journaled, verified, reversible" \
      org.opencontainers.image.licenses="MIT"
COPY --from=build /opt/mcp-optimizer /opt/mcp-optimizer
ENV PATH=/opt/mcp-optimizer/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    NUMBA_CACHE_DIR=/tmp/numba-cache \
    HOME=/tmp
USER 1000:1000
WORKDIR /tmp
EXPOSE 8731
# The service's /healthz (process up, control loop answering), on the port the settings give.
HEALTHCHECK --interval=30s --timeout=10s --start-period=2m --retries=3 \
    CMD ["python", "-m", "mcp_optimizer.umbrel.healthcheck"]
# SIGTERM (docker stop) ends the running cycle after its current journaled write.
STOPSIGNAL SIGTERM
ENTRYPOINT ["mcp-optimizer"]
CMD ["run"]

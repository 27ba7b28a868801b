"""Where the LND node is and how to authenticate: from explicit paths, a data dir, or env.

Environment variables (``LndSettings.from_env``):

``MCP_LND_HOST``
    ``host:port`` of LND's gRPC interface (default ``127.0.0.1:10009``).
``MCP_LND_TLS_CERT`` and ``MCP_LND_MACAROON``
    Paths of ``tls.cert`` and of the macaroon file. Or instead:
``MCP_LND_DIR`` and ``MCP_LND_NETWORK``
    An LND data directory in Umbrel's layout (``tls.cert`` at its root, macaroons under
    ``data/chain/bitcoin/<network>/``) and the network (default ``mainnet``);
    ``MCP_LND_MACAROON_NAME`` picks the macaroon file there (default ``admin.macaroon``).
    Either way both files are read here: a missing one is refused, naming it. On Umbrel these
    come from Umbrel's own variables (``mcp_optimizer/umbrel/env.py``).
``MCP_LND_TIMEOUT_S``
    Deadline of each call in seconds (default 30); the graph call gets ten times that.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .errors import LndConfigError

DEFAULT_HOST = "127.0.0.1:10009"
NETWORKS = ("mainnet", "testnet", "testnet4", "signet", "regtest", "simnet")


@dataclass(frozen=True)
class LndSettings:
    """How to reach one LND node."""

    host: str
    """``host:port`` of the gRPC interface."""
    tls_cert_path: Path
    macaroon_path: Path
    timeout_s: float = 30.0
    """Deadline of each unary call."""
    graph_timeout_s: float = 300.0
    """Deadline of DescribeGraph (a mainnet graph is tens of MB)."""
    max_message_bytes: int = 512 * 1024 * 1024

    def __post_init__(self) -> None:
        host, sep, port = self.host.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise LndConfigError(f"LND address {self.host!r} is not HOST:PORT")
        if not self.timeout_s > 0 or not self.graph_timeout_s > 0:
            raise LndConfigError("LND call timeouts must be positive numbers of seconds")

    @classmethod
    def from_lnd_dir(
        cls,
        lnd_dir: str | Path,
        network: str = "mainnet",
        *,
        host: str = DEFAULT_HOST,
        macaroon_name: str = "admin.macaroon",
        timeout_s: float = 30.0,
    ) -> LndSettings:
        """Settings for an LND data directory in Umbrel's (and LND's default) layout."""
        if network not in NETWORKS:
            raise LndConfigError(
                f"unknown bitcoin network {network!r}; expected one of {', '.join(NETWORKS)}"
            )
        root = Path(lnd_dir)
        if not root.is_dir():
            raise LndConfigError(f"LND directory {root} does not exist")
        return cls(
            host=host,
            tls_cert_path=root / "tls.cert",
            macaroon_path=root / "data" / "chain" / "bitcoin" / network / macaroon_name,
            timeout_s=timeout_s,
            graph_timeout_s=timeout_s * 10,
        )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> LndSettings:
        """Settings from the ``MCP_LND_*`` variables (see the module documentation)."""
        env = os.environ if environ is None else environ
        host = env.get("MCP_LND_HOST", DEFAULT_HOST)
        timeout_text = env.get("MCP_LND_TIMEOUT_S", "30")
        try:
            timeout_s = float(timeout_text)
        except ValueError:
            raise LndConfigError(
                f"MCP_LND_TIMEOUT_S={timeout_text!r} is not a number of seconds"
            ) from None
        if env.get("MCP_LND_DIR"):
            if env.get("MCP_LND_TLS_CERT") or env.get("MCP_LND_MACAROON"):
                raise LndConfigError(
                    "set either MCP_LND_DIR or MCP_LND_TLS_CERT and MCP_LND_MACAROON, not both"
                )
            network = env.get("MCP_LND_NETWORK", "").strip() or "mainnet"
            if network not in NETWORKS:
                raise LndConfigError(
                    f"MCP_LND_NETWORK={network!r} is not a bitcoin network; expected one of "
                    f"{', '.join(NETWORKS)}"
                )
            return cls.from_lnd_dir(
                env["MCP_LND_DIR"],
                network,
                host=host,
                macaroon_name=env.get("MCP_LND_MACAROON_NAME", "admin.macaroon"),
                timeout_s=timeout_s,
            ).check_files()
        missing = [v for v in ("MCP_LND_TLS_CERT", "MCP_LND_MACAROON") if not env.get(v)]
        if missing:
            raise LndConfigError(
                f"{' and '.join(missing)} not set (or set MCP_LND_DIR to an LND data directory)"
            )
        return cls(
            host=host,
            tls_cert_path=Path(env["MCP_LND_TLS_CERT"]),
            macaroon_path=Path(env["MCP_LND_MACAROON"]),
            timeout_s=timeout_s,
            graph_timeout_s=timeout_s * 10,
        ).check_files()

    def check_files(self) -> LndSettings:
        """These settings, once their TLS certificate and macaroon could be read: a missing or
        unreadable file stops a start before anything else with one sentence naming it."""
        self.read_tls_cert()
        self.read_macaroon_hex()
        return self

    def read_tls_cert(self) -> bytes:
        try:
            data = self.tls_cert_path.read_bytes()
        except OSError as exc:
            raise LndConfigError(
                f"cannot read LND's TLS certificate {self.tls_cert_path}: {exc.strerror}"
            ) from None
        if b"BEGIN CERTIFICATE" not in data:
            raise LndConfigError(f"{self.tls_cert_path} is not a PEM certificate")
        return data

    def read_macaroon_hex(self) -> str:
        try:
            data = self.macaroon_path.read_bytes()
        except OSError as exc:
            raise LndConfigError(
                f"cannot read the macaroon {self.macaroon_path}: {exc.strerror}"
            ) from None
        if not data:
            raise LndConfigError(f"the macaroon {self.macaroon_path} is empty")
        from mcp_optimizer.logs import add_secret

        add_secret(data)  # its bytes, hex and base64 never reach a log line
        return data.hex()

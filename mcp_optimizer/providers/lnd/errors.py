"""Typed LND errors: each says, in one sentence, what went wrong and what to check."""

from __future__ import annotations

import grpc


class LndError(Exception):
    """Base of every error the LND provider raises."""


class LndConfigError(LndError):
    """The connection settings are incomplete or point at unusable files."""


class LndUnreachable(LndError):
    """Nothing answers at the configured address."""


class LndCertificateMismatch(LndError):
    """The node's TLS certificate is not the one configured (tls.cert regenerated?)."""


class LndWrongMacaroon(LndError):
    """The node refused the macaroon (missing, wrong, or from another node)."""


class LndPermissionDenied(LndError):
    """The macaroon is valid but does not allow this call (read-only for a write)."""


class LndDeadlineExceeded(LndError):
    """The node did not answer before the call's deadline."""


class LndInboundFeesUnsupported(LndError):
    """The node runs an LND older than 0.18, which has no inbound fees."""


class LndNotFound(LndError):
    """The node does not know the channel or node asked about."""


class LndRequestRejected(LndError):
    """The node refused the request (LND's own rules, e.g. time lock delta too small)."""


class LndPolicyUpdateFailed(LndError):
    """UpdateChannelPolicy answered, but listed the channel as a failed update."""


def _details(exc: grpc.RpcError) -> str:
    details = exc.details() if hasattr(exc, "details") else ""
    return (details or "").strip()


def classify(exc: grpc.RpcError, *, call: str, target: str, timeout_s: float) -> LndError:
    """Turn a gRPC error into the matching typed LndError, with a sentence an operator reads."""
    code = exc.code() if hasattr(exc, "code") else grpc.StatusCode.UNKNOWN
    details = _details(exc)
    low = details.lower()
    if code == grpc.StatusCode.DEADLINE_EXCEEDED:
        return LndDeadlineExceeded(
            f"LND at {target} did not answer {call} within {timeout_s:g} s"
        )
    if code == grpc.StatusCode.UNAVAILABLE:
        tls_words = ("ssl", "tls", "handshake", "certificate", "tsi_")
        if any(w in low for w in tls_words):
            return LndCertificateMismatch(
                f"the TLS certificate presented by {target} does not match the configured "
                f"tls.cert (was it regenerated, or is this another node?): {details}"
            )
        return LndUnreachable(f"LND is not reachable at {target}: {details}")
    if code == grpc.StatusCode.PERMISSION_DENIED or "permission denied" in low:
        return LndPermissionDenied(
            f"the macaroon is not allowed to call {call} on {target} "
            f"(a read-only macaroon cannot change policies): {details}"
        )
    if code == grpc.StatusCode.UNAUTHENTICATED or "macaroon" in low or (
        "verification failed" in low
    ):
        return LndWrongMacaroon(f"LND at {target} refused the macaroon for {call}: {details}")
    if code == grpc.StatusCode.NOT_FOUND or "not found" in low or "unable to find" in low:
        return LndNotFound(f"LND at {target} does not know what {call} asked for: {details}")
    if code == grpc.StatusCode.UNIMPLEMENTED:
        return LndRequestRejected(
            f"LND at {target} does not implement {call} (too old, or the sub-server is off)"
        )
    return LndRequestRejected(
        f"LND at {target} refused {call} ({code.name if code else 'UNKNOWN'}): {details}"
    )

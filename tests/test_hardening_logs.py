"""Issue 10, item 12: no production log sink prints the values of local variables in a
traceback (loguru's ``diagnose``), so a secret held in one never reaches service.log."""

from __future__ import annotations

import sys

from loguru import logger

from mcp_optimizer.runtime.run import LOG_FILE, configure_logging

SECRET = "macaroon-0a1b2c3d4e5f-secret"


def _fail(macaroon_hex: str) -> None:
    token = macaroon_hex[::-1]  # a local variable holding a secret
    raise RuntimeError(f"call failed ({len(token)} bytes of credentials)")


def test_service_log_tracebacks_hold_no_local_values(tmp_path, capfd):
    configure_logging(tmp_path)
    try:
        try:
            _fail(SECRET)
        except RuntimeError as exc:
            logger.opt(exception=exc).error("provider call failed")
        logger.complete()
    finally:
        logger.remove()
        logger.add(sys.stderr)
    text = (tmp_path / LOG_FILE).read_text()
    assert "provider call failed" in text and "RuntimeError" in text and "_fail" in text
    assert SECRET not in text and SECRET[::-1] not in text, text
    err = capfd.readouterr().err
    assert "RuntimeError" in err and SECRET not in err and SECRET[::-1] not in err

"""QR codes of invite links, as PNG bytes made in memory (segno: pure Python)."""

from __future__ import annotations

import io

import segno

__all__ = ["qr_png"]


def qr_png(data: str, *, scale: int = 8, border: int = 4) -> bytes:
    """A PNG of `data` as a QR code: error correction M at least (segno raises it when the
    symbol has room), black on white, a `border` of modules around it as readers need."""
    qr = segno.make_qr(data, error="m", boost_error=True)
    buffer = io.BytesIO()
    qr.save(buffer, kind="png", scale=scale, border=border)
    return buffer.getvalue()

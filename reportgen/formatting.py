"""Numbers as the report writes them: significant digits, the edition's separators, powers of ten."""

from __future__ import annotations

import math

from markupsafe import Markup

from .language import fixed, number


def fmt(value: float, digits: int = 3, html: bool = True) -> str:
    """A number with ``digits`` significant digits, in the current language; powers of ten as superscripts
    (or ``e`` when not html)."""
    if value != value:
        return "—"
    if value == 0:
        return "0"
    if 1e-3 <= abs(value) < 1e5:
        decimals = max(0, digits - 1 - math.floor(math.log10(abs(value))))
        rounded = float(f"{value:.{decimals}f}")  # rounded once, as Python rounds; Babel writes it
        # Whole numbers are grouped as the language groups them (23,738; 23.738), like every other number.
        text = number(int(rounded)) if decimals == 0 else fixed(rounded, decimals)
        return text.replace("-", "−") if html else text
    mantissa, exponent = f"{value:.{digits - 1}e}".split("e")
    mantissa = fixed(float(mantissa), digits - 1)
    if not html:
        return f"{mantissa}e{int(exponent)}"
    return Markup(f"{mantissa.replace('-', '−')} × 10<sup>{str(int(exponent)).replace('-', '−')}</sup>")


def fmt_pm(mean: float, spread: float, digits: int = 3) -> str:
    """``mean ± spread`` as HTML."""
    return Markup(f"{fmt(mean, digits)} ± {fmt(spread, 2)}")

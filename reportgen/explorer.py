"""Explorers: a study's runs as data for the report's interactive views (instructor HTML only).

A kind opts in through its analysis: it puts :class:`Explorer` objects in its result's ``explorers``
(as it puts figures in ``figures``) and its template shows them with the macros of
``templates/explorer.html.j2``, whose script (``templates/explorer.js``) draws them. The core only
carries them: through the analysis cache, into the instructor edition's HTML, never into the
student edition or the PDF.

Encoding, fixed so that builds are byte-identical: JSON with sorted keys and no spaces; arrays as
base64 of little-endian IEEE values, ``half`` (float16: fits and draws, 11 significant bits, so a
plotted point equals the recorded float32 value to a relative 2^-11) or ``single`` (float32,
exact: inputs, targets, losses). Numbers outside float16's range become infinities, which the
charts clip like any point outside the frame.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

import numpy as np
from markupsafe import Markup

HALF_PRECISION = 2.0 ** -11
"""Largest relative rounding error of a ``half`` value (float16 keeps 11 significant bits)."""


@dataclass(frozen=True)
class Explorer:
    """One interactive view of a study: which of the script's widgets draws it, and its data."""

    id: str
    """Document-unique element id, e.g. ``explorer-overfitting``."""
    widget: str
    """Which view of ``explorer.js`` draws it: ``replay`` (a training, step by step) or ``samples`` (draws and
    their spread)."""
    data: dict[str, Any]
    """JSON-ready: numbers, strings, lists, and arrays encoded by :func:`half` or :func:`single`."""

    @property
    def payload(self) -> Markup:
        """The data as JSON safe inside ``<script type="application/json">`` (no ``<``, ``>`` or ``&``)."""
        text = json.dumps(self.data, sort_keys=True, separators=(",", ":"), allow_nan=False)
        return Markup(text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e"))


def half(values: np.ndarray) -> str:
    """Base64 of ``values`` as little-endian float16."""
    with np.errstate(over="ignore"):  # beyond 65504 is far outside any frame: an infinity, clipped
        return base64.b64encode(np.asarray(values, dtype="<f2").tobytes()).decode()


def single(values: np.ndarray) -> str:
    """Base64 of ``values`` as little-endian float32."""
    return base64.b64encode(np.asarray(values, dtype="<f4").tobytes()).decode()


def sweep_point(study, run) -> list[int]:
    """Where ``run`` sits in the sweep: the index of its value on each of ``study.axes``, in their order."""
    params = dict(run.params)
    return [list(values).index(params[key]) for key, values in study.axes]


def axes_of(study) -> list[dict[str, Any]]:
    """The study's swept keys and values, in definition order, as the explorer's controls list them."""
    return [{"key": key, "values": list(values)} for key, values in study.axes]

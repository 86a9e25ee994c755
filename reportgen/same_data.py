"""Which earlier study of a report already shows the data set a study trains on: the report draws it once."""

from __future__ import annotations

from typing import Any


def data_shown_before(result, results) -> Any:
    """The data figure of a study before ``result`` among ``results`` that already shows the one data set
    ``result`` trains on, or None: a report draws the same data once and refers to that figure after."""
    study = result.study
    if "data" not in result.figures or any(key.startswith("data.") for key, _values in study.axes):
        return None
    mine = study.base.data.model_dump()
    for earlier in results:
        if earlier is result:
            return None
        figure = earlier.figures.get("data")
        if figure is None or not hasattr(earlier.study.base, "data"):
            continue
        swept = {key.removeprefix("data."): values for key, values in earlier.study.axes if key.startswith("data.")}
        theirs = earlier.study.base.data.model_dump()
        if all(mine[k] == theirs[k] for k in mine if k not in swept) and all(mine[k] in v for k, v in swept.items()):
            return figure
    return None

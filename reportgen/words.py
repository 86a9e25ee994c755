"""Words the report translates by value: names a definition gives, which reach ``_()`` and ``t()`` as data.

An activation (``t(model.activation)``), a model kind or a swept field's name (``series_label``) is never a
literal at the place it is translated, so gettext's extraction cannot find it there. Each is marked here with
:func:`N_`, gettext's no-op marker, and so extracted into the catalogues and translated like any message.
"""

from __future__ import annotations


def N_(message: str) -> str:  # noqa: N802 (gettext's name for it)
    """``message`` itself: marks a word for extraction where it is written, translated where it is shown."""
    return message


ACTIVATIONS = (N_("tanh"), N_("sigmoid"), N_("relu"), N_("identity"))
"""The hidden layers' activations (``MLPSpec.activation``)."""
MODEL_KINDS = (N_("polynomial"), N_("mlp"))
"""The kinds of model a definition names (``model.kind``)."""
FIELDS = (N_("noise"), N_("degree"), N_("width"), N_("depth"), N_("activation"), N_("weight decay"), N_("lr"),
          N_("steps"), N_("points"), N_("seed"), N_("weight std"), N_("bias std"))
"""The last part of a swept field's key, as a series of runs is labelled with it (``data.noise`` -> noise)."""

"""The built-in study kinds, one module each, registered through the ``reportgen.study_kinds`` entry points."""

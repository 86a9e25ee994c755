"""reportgen: lab reports for a lecture on function approximators, from declarative experiments."""

__version__ = "0.1.0"

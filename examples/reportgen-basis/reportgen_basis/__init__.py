"""reportgen-basis: a study kind fitting fixed bases (Gaussian bumps, Fourier features) in closed form.

Deliberately empty: reportgen hashes a kind's code with the packages around it, so importing the kind here
would make the fit's cache key cover the analysis too. The entry point names ``reportgen_basis.kind:KIND``.
"""

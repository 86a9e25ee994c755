"""reportgen-basis: a study kind fitting fixed bases (Gaussian bumps, Fourier features) in closed form.

``kind.py`` holds the definition's schema, the fit of one run and the ``KIND`` the entry point names;
``analysis.py`` turns the runs into the report section that ``templates/studies/basis.html.j2`` writes.
"""

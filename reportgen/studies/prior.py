"""Prior sampling: functions drawn from MLPs with Gaussian weights, and their spread against width.

The kind's registration. Its schema and outcome are in :mod:`.prior_sampling`, the
sampling in :mod:`.prior_draws`, the analysis in :mod:`.prior_analysis`; the last two
are imported only when needed.
"""

from __future__ import annotations

from .lab import PriorLab
from .prior_sampling import SamplingKind


def analyze(study, runs, outcomes):
    """The study's spread per configuration with its interval, figures of draws, the spread and slope tables, and
    the facts its prose states (see :mod:`.prior_analysis`)."""
    from .prior_analysis import analyze as analysis

    return analysis(study, runs, outcomes)


def handout(study, runs):
    """The study as a student edition shows it, computing no run (see :func:`.handout.prior`)."""
    from .handout import prior as shown

    return shown(study, runs)


KIND = SamplingKind(name="prior", analyze=analyze, template="studies/prior.html.j2", handout=handout,
                    lab=PriorLab())
"""The prior-sampling study kind, registered as the ``prior`` entry point of ``reportgen.study_kinds``."""

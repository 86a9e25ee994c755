"""Prior sampling: functions drawn from MLPs with Gaussian weights, and their spread against width.

The kind's registration. Its schema and outcome are in :mod:`.prior_sampling`, the
sampling in :mod:`.prior_draws`, the analysis in :mod:`.prior_analysis`; the last two
are imported only when needed.
"""

from __future__ import annotations

from ..kinds import Kind
from .lab import PriorLab
from .prior_sampling import PriorOutcome, PriorStudyFile

KIND = Kind(name="prior", schema=PriorStudyFile, template="studies/prior.html.j2", outcome=PriorOutcome,
            run="reportgen.studies.prior_draws:sample", analysis="reportgen.studies.prior_analysis:analyze",
            handout="reportgen.studies.handout:prior", lab=PriorLab())
"""The prior-sampling study kind, registered as the ``prior`` entry point of ``reportgen.study_kinds``: each
configuration sampled as one work unit, the widest first (its memory estimate)."""

"""Analyses of trained networks: linear mode connectivity and instability to SGD noise.

* :mod:`.barrier` -- the straight line between two networks and its error barrier;
* :mod:`.instability` -- instability analysis of one network (Frankle, Dziugaite, Roy & Carbin, 2020);
* :mod:`.grid` -- the analysis over seeds, rewind iterations, IMP densities and controls, as pure jobs;
  :mod:`.store` saves each as it finishes, :mod:`.report` and :mod:`.figures` summarise and draw them,
  :mod:`.command` is ``lottery-np instability`` and ``benchmarks/instability_lenet.py``.
"""
from .barrier import PATH_POINTS, LinearPath, error_barrier, interpolate, linear_path, path_alphas
from .grid import METHODS, InstabilitySettings, run_instability
from .instability import (DATA_SEEDS, MATCHING_TOLERANCE, STABLE_BARRIER, TRAIN_EXAMPLES, InstabilityResult,
                          dense_at, instability_analysis, matching, rewind_point)

__all__ = [
    "DATA_SEEDS",
    "MATCHING_TOLERANCE",
    "METHODS",
    "PATH_POINTS",
    "STABLE_BARRIER",
    "TRAIN_EXAMPLES",
    "InstabilityResult",
    "InstabilitySettings",
    "LinearPath",
    "dense_at",
    "error_barrier",
    "instability_analysis",
    "interpolate",
    "linear_path",
    "matching",
    "path_alphas",
    "rewind_point",
    "run_instability",
]

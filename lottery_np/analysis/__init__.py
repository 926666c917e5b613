"""Analyses of trained networks: instability to SGD noise and linear mode connectivity."""
from .barrier import PATH_POINTS, LinearPath, error_barrier, interpolate, linear_path, path_alphas
from .instability import (DATA_SEEDS, MATCHING_TOLERANCE, STABLE_BARRIER, TRAIN_EXAMPLES, InstabilityResult,
                          dense_at, instability_analysis, matching, rewind_point)

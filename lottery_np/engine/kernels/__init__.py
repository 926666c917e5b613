"""The masked-layer kernels: products per layer, a fused whole-network pass, and their NumPy references.

* :mod:`.dispatch`: the three products of a masked layer and which path computes
  them (dense BLAS, sparse Numba kernels, the NumPy reference), with the
  crossover densities;
* :mod:`.pattern`: :class:`SparsityPattern`, a mask's surviving connections indexed for the kernels;
* :mod:`.jitted`: the sparse Numba kernels; :mod:`.reference`: their NumPy definitions;
* :mod:`.fused`: forward and backward pass of a whole sparse network in one call;
* :mod:`.inference`: inference of a whole sparse network in one call, on :class:`SampleBlocks`.
"""
from .dispatch import (PATHS, check_path, choose_path, masked_backward_input, masked_backward_weights, masked_forward,
                       surviving_weight_gradients, use_fused_step, use_sparse_inference)
from .inference import SampleBlocks, flatten_network, sparse_logits
from .pattern import SparsityPattern

__all__ = [
    "PATHS",
    "SampleBlocks",
    "SparsityPattern",
    "check_path",
    "choose_path",
    "flatten_network",
    "masked_backward_input",
    "masked_backward_weights",
    "masked_forward",
    "sparse_logits",
    "surviving_weight_gradients",
    "use_fused_step",
    "use_sparse_inference",
]

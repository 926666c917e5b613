"""The masked-layer kernels: products per layer, a fused whole-network pass, and their NumPy references.

* :mod:`.dispatch`: the three products of a masked layer and which path computes
  them (dense BLAS, sparse Numba kernels, the NumPy reference), with the
  crossover densities;
* :mod:`.pattern`: :class:`SparsityPattern`, a mask's surviving connections indexed for the kernels;
* :mod:`.jitted`: the sparse Numba kernels; :mod:`.reference`: their NumPy definitions;
* :mod:`.fused`: forward and backward pass of a whole sparse network in one call;
* :mod:`.inference`: inference of a whole sparse network in one call, on :class:`SampleBlocks`, and
  :func:`network_logits`, which picks it or the layer-by-layer pass.
"""
from .dispatch import (PATHS, check_path, choose_path, forced_path, masked_backward_input, masked_backward_weights,
                       masked_forward, surviving_weight_gradients, use_fused_step, use_sparse_inference)
from .inference import SampleBlocks, as_inputs, flatten_network, network_logits, sparse_logits
from .pattern import SparsityPattern

__all__ = [
    "PATHS",
    "SampleBlocks",
    "SparsityPattern",
    "as_inputs",
    "check_path",
    "choose_path",
    "flatten_network",
    "forced_path",
    "masked_backward_input",
    "masked_backward_weights",
    "masked_forward",
    "network_logits",
    "sparse_logits",
    "surviving_weight_gradients",
    "use_fused_step",
    "use_sparse_inference",
]

"""The surviving connections of one masked layer, indexed for the sparse kernels.

A mask ``M`` of shape ``(fan_in, fan_out)`` keeps weight ``W[i, j]`` when
``M[i, j] == 1``. The kernels need those positions grouped two ways:

* **by output** (compressed sparse columns of ``W``): for output ``j`` the inputs
  ``i`` feeding it, ``csc_indices[csc_indptr[j]:csc_indptr[j + 1]]``; the
  forward product ``Z[j, :] = sum_i W[i, j] A[i, :]`` walks these.
* **by input** (compressed sparse rows of ``W``): for input ``i`` the outputs
  ``j`` it feeds, ``csr_indices[csr_indptr[i]:csr_indptr[i + 1]]``; the
  backward products ``dA[i, :] = sum_j W[i, j] dZ[j, :]`` and
  ``dW[i, j] = A[i, :] . dZ[j, :]`` walk these.

A kernel reads the weights *packed*: one value per surviving weight, in the
order of the index arrays it walks. ``active`` (C order, which is the by-input
order) is the order of compact gradients and optimizer state;
:meth:`SparsityPattern.gather` and :meth:`SparsityPattern.gather_by_output` pack
a matrix either way. Indices are sorted within each group. The pattern is built
once per mask (a mask changes once per pruning round), with vectorised NumPy.
"""
import numpy as np

from .jitted import take


class SparsityPattern:
    """Index arrays of the surviving weights of one ``(fan_in, fan_out)`` mask.

    Parameters
    ----------
    mask : array_like of shape (fan_in, fan_out)
        1 where a weight survives, 0 where it is pruned (bool or numeric).

    Attributes
    ----------
    mask : ndarray of shape (fan_in, fan_out), float32, C order
        The mask as 0.0/1.0 (a private copy).
    active : ndarray of shape (n_active,), int64
        Sorted flat indices ``i * fan_out + j`` of the surviving weights (the
        optimizers update exactly these entries).
    density : float
        Fraction of surviving weights, ``n_active / (fan_in * fan_out)``.
    csr_indptr : ndarray of shape (fan_in + 1,), int64
    csr_indices : ndarray of shape (n_active,), int64
        Surviving outputs ``j`` of each input row ``i``; entry ``k`` is the
        weight at ``active[k]``.
    csc_indptr : ndarray of shape (fan_out + 1,), int64
    csc_indices : ndarray of shape (n_active,), int64
        Surviving inputs ``i`` of each output column ``j``.
    csc_order : ndarray of shape (n_active,), int64
        Position in ``active`` of each by-output entry.
    csc_active : ndarray of shape (n_active,), int64
        Flat indices of the surviving weights in by-output order, ``active[csc_order]``.
    """

    def __init__(self, mask):
        mask = np.array(mask, dtype=np.float32, order="C", copy=True)
        if mask.ndim != 2 or mask.size == 0:
            raise ValueError(f"mask must be a non-empty 2-D array (fan_in, fan_out), got shape {mask.shape}")
        if not np.all((mask == 0) | (mask == 1)):
            raise ValueError("mask must hold only 0 and 1")
        fan_in, fan_out = mask.shape
        self.mask = mask
        self.active = np.flatnonzero(mask)
        self.density = self.active.size / mask.size

        # flatnonzero walks C order, so ``active`` is already grouped by input row.
        rows, cols = np.divmod(self.active, fan_out)
        self.csr_indptr = _indptr(rows, fan_in)
        self.csr_indices = cols
        # A stable sort by output column keeps the rows sorted inside each column.
        self.csc_order = np.argsort(cols, kind="stable")
        self.csc_active = self.active[self.csc_order]
        self.csc_indptr = _indptr(cols, fan_out)
        self.csc_indices = rows[self.csc_order]

    @classmethod
    def from_mask(cls, mask) -> "SparsityPattern":
        """Build the pattern of ``mask`` (shape ``(fan_in, fan_out)``, 0/1)."""
        return cls(mask)

    @property
    def is_dense(self) -> bool:
        """Whether every weight survives (then ``active`` is ``arange(fan_in * fan_out)``)."""
        return self.active.size == self.mask.size

    def gather(self, matrix: np.ndarray) -> np.ndarray:
        """The entries of a ``(fan_in, fan_out)`` matrix at the surviving weights, in ``active`` order.

        For a dense pattern this is ``matrix.ravel()`` itself (a view where
        possible), as no entry has to be left out.
        """
        flat = self._flat(matrix)
        return flat if self.is_dense else take(flat, self.active)

    def gather_by_output(self, matrix: np.ndarray) -> np.ndarray:
        """The entries of a ``(fan_in, fan_out)`` matrix at the surviving weights, in by-output order (a copy)."""
        return take(self._flat(matrix), self.csc_active)

    def _flat(self, matrix) -> np.ndarray:
        """``matrix`` raveled, refusing one of another shape (the gathers read it unchecked)."""
        matrix = np.asarray(matrix)
        if matrix.shape != self.shape:
            raise ValueError(f"matrix must have the pattern's shape {self.shape}, got {matrix.shape}")
        return np.ravel(matrix)

    def scatter(self, values: np.ndarray) -> np.ndarray:
        """The ``(fan_in, fan_out)`` matrix holding ``values`` at the surviving weights and +0.0 elsewhere."""
        matrix = np.zeros(self.mask.size, dtype=values.dtype)
        matrix[self.active] = values
        return matrix.reshape(self.shape)

    @property
    def shape(self) -> tuple:
        """``(fan_in, fan_out)`` of the layer."""
        return self.mask.shape

    def __repr__(self) -> str:
        return f"SparsityPattern(shape={self.shape}, active={self.active.size}, density={self.density:.4f})"


def _indptr(group: np.ndarray, n_groups: int) -> np.ndarray:
    """Start offsets of each group's run in a list sorted by ``group``, plus the total at the end."""
    indptr = np.zeros(n_groups + 1, dtype=np.int64)
    np.cumsum(np.bincount(group, minlength=n_groups), out=indptr[1:])
    return indptr

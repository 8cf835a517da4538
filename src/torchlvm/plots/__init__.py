"""Figures from arrays: matplotlib, PNG, no model or training code.

Every function takes arrays or tensors and returns a :class:`matplotlib.figure.Figure`;
:func:`save_figure` writes one as a PNG atomically and closes it.

- images: :func:`image_grid`, :func:`reconstruction_pairs`, :func:`conditional_grid`,
  :func:`imputation_panels`, :func:`transfer_grid`, :func:`traversal_grid`,
  :func:`interpolation_strip`, :func:`manifold_grid`
- latent space: :func:`latent_scatter`, :func:`kl_per_dimension`
- training: :func:`training_curves`
- inference: :func:`identity_figure`, :func:`gaps_figure`, :func:`kl_fits_figure`
- model comparison: :func:`comparison_figure` (of :func:`comparison_scores`)
"""

from torchlvm.plots._style import drawn_by_torchlvm, figure_description, save_figure
from torchlvm.plots.compare import comparison_figure, comparison_scores
from torchlvm.plots.curves import training_curves
from torchlvm.plots.images import (
    conditional_grid,
    image_grid,
    imputation_panels,
    interpolation_strip,
    manifold_grid,
    reconstruction_pairs,
    transfer_grid,
    traversal_grid,
)
from torchlvm.plots.inference import gaps_figure, identity_figure
from torchlvm.plots.kl_fits import kl_fits_figure
from torchlvm.plots.latent import kl_per_dimension, latent_scatter

__all__ = [
    "comparison_figure",
    "comparison_scores",
    "conditional_grid",
    "drawn_by_torchlvm",
    "figure_description",
    "gaps_figure",
    "identity_figure",
    "kl_fits_figure",
    "image_grid",
    "imputation_panels",
    "interpolation_strip",
    "kl_per_dimension",
    "latent_scatter",
    "manifold_grid",
    "reconstruction_pairs",
    "save_figure",
    "training_curves",
    "transfer_grid",
    "traversal_grid",
]

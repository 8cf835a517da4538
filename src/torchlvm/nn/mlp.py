"""A multilayer perceptron on flat vectors with any leading dimensions.

``nn.Linear`` acts on the last dimension, so inputs ``(..., in_dim)`` map to ``(..., out_dim)``
without reshaping: ``z`` of shape ``(S, B, K)`` decodes to ``(S, B, D)``.
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

from torchlvm._checks import check_choice, check_positive_int
from torchlvm.nn.activations import ACTIVATIONS, make_activation


class MLP(nn.Sequential):
    """Linear → activation → ... → Linear; no activation after the last layer.

    Args:
        in_dim: size of the input's last dimension.
        hidden: widths of the hidden layers; ``()`` gives a single ``Linear(in_dim, out_dim)``.
        out_dim: size of the output's last dimension.
        activation: name from :data:`torchlvm.nn.ACTIVATIONS`.

    Shapes: ``(..., in_dim)`` → ``(..., out_dim)``.

    Raises:
        ConfigError: for a non-positive width or an unknown activation.
    """

    def __init__(
        self, in_dim: int, hidden: Sequence[int], out_dim: int, activation: str = "relu"
    ) -> None:
        check_choice("activation", activation, ACTIVATIONS)
        widths = [check_positive_int("in_dim", in_dim)]
        widths += [check_positive_int("hidden width", h) for h in hidden]
        widths.append(check_positive_int("out_dim", out_dim))
        layers: list[nn.Module] = []
        for i, (a, b) in enumerate(zip(widths[:-1], widths[1:], strict=True)):
            if i > 0:
                layers.append(make_activation(activation))
            layers.append(nn.Linear(a, b))
        super().__init__(*layers)
        self.in_dim, self.out_dim = in_dim, out_dim

    def forward(self, x: Tensor) -> Tensor:
        """Args: x ``(..., in_dim)``. Returns: ``(..., out_dim)``."""
        return super().forward(x)

"""Network building blocks: MLPs and convolutional encoders/decoders on flat vectors.

No probability code lives here: networks return raw parameters, and
:mod:`torchlvm.distributions` turns them into distributions.
"""

from torchlvm.nn.activations import ACTIVATIONS, Activation, make_activation, register_activation
from torchlvm.nn.builders import (
    ARCHS,
    Arch,
    check_architecture,
    check_features,
    decoder_network,
    encoder_network,
)
from torchlvm.nn.conv import ConvDecoder, ConvEncoder
from torchlvm.nn.mlp import MLP

__all__ = [
    "ACTIVATIONS",
    "ARCHS",
    "MLP",
    "Activation",
    "Arch",
    "ConvDecoder",
    "ConvEncoder",
    "check_architecture",
    "check_features",
    "decoder_network",
    "encoder_network",
    "make_activation",
    "register_activation",
]

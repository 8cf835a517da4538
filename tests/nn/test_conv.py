"""ConvEncoder / ConvDecoder: flat vectors in and out, any H×W, leading sample dimensions."""

from __future__ import annotations

import math

import pytest
import torch

from torchlvm.errors import ConfigError
from torchlvm.nn import ConvDecoder, ConvEncoder

SHAPES = [(1, 8, 8), (1, 28, 28), (3, 5, 7), (1, 1, 1)]
SHAPE_IDS = ["digits-8x8", "mnist-28x28", "rgb-odd-5x7", "one-pixel"]


@pytest.mark.parametrize("image_shape", SHAPES, ids=SHAPE_IDS)
def test_encoder_maps_flat_images_to_out_dim(image_shape):
    torch.manual_seed(0)
    encoder = ConvEncoder(image_shape, 6, channels=(4, 8))
    x = torch.rand(3, math.prod(image_shape))
    assert encoder(x).shape == (3, 6)
    assert encoder(x[0]).shape == (6,)


@pytest.mark.parametrize("image_shape", SHAPES, ids=SHAPE_IDS)
def test_decoder_returns_exactly_the_image_size_with_sample_dims(image_shape):
    torch.manual_seed(0)
    decoder = ConvDecoder(5, image_shape, channels=(4, 8), hidden=(16,))
    z = torch.randn(2, 3, 5)  # (S, B, K)
    assert decoder(z).shape == (2, 3, math.prod(image_shape))
    assert decoder(z[0, 0]).shape == (math.prod(image_shape),)


def test_encoder_and_decoder_compose_and_backpropagate():
    torch.manual_seed(0)
    encoder, decoder = ConvEncoder((1, 28, 28), 4), ConvDecoder(4, (1, 28, 28))
    x = torch.rand(2, 784)
    decoder(encoder(x)).pow(2).sum().backward()
    assert all(p.grad is not None for p in [*encoder.parameters(), *decoder.parameters()])


def test_decoder_output_is_a_reshaped_image_not_a_mix_of_batch_elements():
    torch.manual_seed(0)
    decoder = ConvDecoder(3, (1, 8, 8))
    z = torch.randn(4, 3)
    together = decoder(z)
    one_by_one = torch.stack([decoder(z[i]) for i in range(4)])
    torch.testing.assert_close(together, one_by_one)


def test_extra_vector_joins_after_the_convolutions():
    torch.manual_seed(0)
    encoder = ConvEncoder((1, 8, 8), 6, extra_dim=10)
    x, c = torch.rand(2, 64), torch.eye(10)[:2]
    out = encoder(torch.cat([x, c], -1))
    assert out.shape == (2, 6)
    assert not torch.allclose(out, encoder(torch.cat([x, torch.eye(10)[2:4]], -1)))


@pytest.mark.parametrize(
    "image_shape, match",
    [
        ((28, 28), r"image_shape must be \(channels, height, width\)"),
        ((1, 0, 28), "image_shape height must be a positive integer, got 0"),
        ((1, 2.5, 2), r"image_shape must be \(channels, height, width\)"),
    ],
    ids=["two-dims", "zero-height", "float-size"],
)
def test_bad_image_shapes_are_refused(image_shape, match):
    with pytest.raises(ConfigError, match=match):
        ConvEncoder(image_shape, 4)
    with pytest.raises(ConfigError, match=match):
        ConvDecoder(4, image_shape)


def test_empty_channel_list_is_refused():
    with pytest.raises(ConfigError, match="channels must list at least one"):
        ConvEncoder((1, 8, 8), 4, channels=())

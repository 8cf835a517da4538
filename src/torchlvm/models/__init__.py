"""Latent variable models, each a small frozen config dataclass plus an ``nn.Module`` on the
protocol of :mod:`torchlvm.protocol`."""

from torchlvm.models.registry import MODELS, model_class, register_model

__all__ = ["MODELS", "model_class", "register_model"]

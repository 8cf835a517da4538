"""zuko (normalizing flows that return ``torch.distributions`` objects), imported without its
global side effect: importing ``zuko.distributions`` sets ``Distribution._validate_args = False``
for *every* torch distribution, and torchlvm relies on torch's argument validation to refuse a
distribution with NaN parameters (e.g. weights that turned non-finite during training). The
default is put back as it was right after the import."""

from torch.distributions import Distribution

_VALIDATE = Distribution._validate_args

from zuko.distributions import NormalizingFlow  # noqa: E402
from zuko.flows import MAF  # noqa: E402
from zuko.transforms import ComposedTransform  # noqa: E402

Distribution.set_default_validate_args(_VALIDATE)

__all__ = ["MAF", "ComposedTransform", "NormalizingFlow"]

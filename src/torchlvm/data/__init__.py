"""Data: datasets by name, IDX / npy / npz / csv loaders, synthetic data with known truth,
binarization protocols and seeded splits. Returns tensors; knows nothing of models.

>>> from torchlvm.data import load_dataset
>>> train = load_dataset("digits", split="train")
>>> train.x.shape, train.shape
(torch.Size([1258, 64]), (1, 8, 8))
"""

from torchlvm.data import digits, factors, mnist, synthetic  # noqa: F401  (importing registers them)
from torchlvm.data.binarize import PROTOCOLS, binarize
from torchlvm.data.catalog import DatasetInfo, describe_datasets
from torchlvm.data.dataset import SPLITS, Dataset
from torchlvm.data.factors import make_shapes
from torchlvm.data.file_warning import FileWarning
from torchlvm.data.files import load_file
from torchlvm.data.idx import read_idx
from torchlvm.data.load import load_dataset
from torchlvm.data.registry import list_datasets, register_dataset
from torchlvm.data.synthetic import make_gaussian_mixture, make_linear_gaussian, make_two_moons

__all__ = [
    "PROTOCOLS",
    "SPLITS",
    "Dataset",
    "DatasetInfo",
    "FileWarning",
    "binarize",
    "describe_datasets",
    "list_datasets",
    "load_dataset",
    "load_file",
    "make_gaussian_mixture",
    "make_linear_gaussian",
    "make_shapes",
    "make_two_moons",
    "read_idx",
    "register_dataset",
]

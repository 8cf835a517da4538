"""``import torchlvm`` is lazy (PEP 562): it imports no torch, and every public name and
subpackage still works as an attribute and in ``from torchlvm import ...``."""

from __future__ import annotations

import subprocess
import sys

import pytest

import torchlvm


def test_import_torchlvm_imports_no_torch() -> None:
    """The CLI catches Ctrl-C only once ``torchlvm`` is imported: it must take milliseconds."""
    code = "import sys, torchlvm; print(sorted({'torch', 'numpy', 'sklearn'} & set(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout.strip()) == (0, "[]"), done.stderr


def test_every_public_name_resolves() -> None:
    from torchlvm import CVAE, PPCA, VAE, Autoencoder, TorchLVMError, load
    from torchlvm.errors import TorchLVMError as Defined
    from torchlvm.io import load as loader
    from torchlvm.models import vae

    assert (TorchLVMError, load, VAE) == (Defined, loader, vae.VAE)
    assert {CVAE, PPCA, Autoencoder} <= {getattr(torchlvm, name) for name in torchlvm.__all__}
    assert set(torchlvm.__all__) <= set(dir(torchlvm))


def test_subpackages_are_attributes() -> None:
    from torchlvm.inference import elbo

    assert torchlvm.inference.elbo is elbo


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="module 'torchlvm' has no attribute 'VAEs'"):
        torchlvm.VAEs  # noqa: B018
    assert not hasattr(torchlvm, "__wrapped__")


@pytest.mark.parametrize(
    "package",
    ["torchlvm", "torchlvm.models", "torchlvm.inference", "torchlvm.distributions"]
    + ["torchlvm.estimators", "torchlvm.data", "torchlvm.training", "torchlvm.evaluation"],
)
def test_help_of_every_public_callable_says_what_it_does(package: str) -> None:
    """``help(torchlvm.models.register_model)`` showed no text: it was a closure made by a
    factory, its docstring a comment-string beside the assignment."""
    import importlib

    module = importlib.import_module(package)
    bare = [
        name
        for name in getattr(module, "__all__", [])
        if callable(getattr(module, name)) and not (getattr(module, name).__doc__ or "").strip()
    ]
    assert bare == []


def test_python_dash_m_torchlvm_is_the_command() -> None:
    """`python -m torchlvm` (what a user tries where the script is not on PATH) said "No module
    named torchlvm.__main__"; only `python -m torchlvm.cli` worked."""
    for argv in (["--version"], ["trian"]):
        done = subprocess.run(
            [sys.executable, "-m", "torchlvm", *argv], capture_output=True, text=True, timeout=60
        )
        assert done.returncode == (0 if argv == ["--version"] else 2), done.stderr
        assert (done.stdout + done.stderr).startswith("torchlvm"), done.stderr

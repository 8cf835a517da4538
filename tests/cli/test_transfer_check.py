"""``transfer`` measures its own success: each image redrawn as class B classified by torchlvm's
classifier of the run's dataset (userH #11: a CVAE said it transferred 8 T-shirts to Ankle boot,
and the figure showed 8 T-shirts)."""

import re
import warnings

import pytest
import torch

from torchlvm import cli
from torchlvm.data import load_dataset
from torchlvm.evaluation import dataset_classifier
from torchlvm.models import CVAE, CVAEConfig

DATA = {"name": "digits", "binarize": "none", "seed": 0, "condition": "label", "shape": [1, 8, 8],
        "num_classes": 10, "class_names": [str(i) for i in range(10)]}  # fmt: skip
NAMES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def _run(tmp_path, prior="learned"):
    torch.manual_seed(0)
    config = CVAEConfig(64, 10, latent_dim=4, hidden=(32,), num_classes=10, class_names=NAMES,
                        prior=prior)  # fmt: skip
    return CVAE(config).save_pretrained(tmp_path / f"cvae-{prior}", data=DATA)


def _keeping_the_class(self, x, c_from, c_to):
    """A transfer that returns the original, a little darker for each later target class (so
    that it is not the reconstruction under every class: that is a decoder ignoring c)."""
    return x * (1 - 0.02 * c_to.argmax(-1, keepdim=True))  # (B, D)


def _reaching_the_target(monkeypatch):
    """Make every transfer a real test digit of its target class, one the classifier calls so."""
    test, classifier = load_dataset("digits", "test"), dataset_classifier("digits")
    right = classifier.predict(test.x) == test.y
    pool = {k: test.x[(test.y == k) & right] for k in range(10)}

    def transfer(self, x, c_from, c_to):
        targets = c_to.expand(len(x), -1).argmax(-1).tolist()
        return torch.stack([pool[t][i % len(pool[t])] for i, t in enumerate(targets)])

    monkeypatch.setattr(CVAE, "transfer", transfer)


def _counted(out, target):
    """(hits, n, stayed) of the line '  H of N classified as TARGET by ...; S as ...'."""
    found = re.search(rf"  (\d+) of (\d+) classified as {target} by torchlvm's digits classifier "
                      r"\(test accuracy 0\.\d{3}\); (\d+) as ", out)  # fmt: skip
    assert found is not None, out
    return tuple(int(v) for v in found.groups())


def test_transfers_that_keep_their_class_are_counted_and_warned(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(CVAE, "transfer", _keeping_the_class)
    run = _run(tmp_path)
    argv = ["transfer", str(run), "--from-condition", "3", "--to-condition", "eight", "--n", "8"]
    with pytest.warns(UserWarning, match="keeps much of the original's class") as caught:
        assert cli.main(argv) == 0
    hits, n, stayed = _counted(capsys.readouterr().out, "eight")
    assert n == 8 and hits <= 1 and stayed >= 7  # (the classifier: 0.97 on test digits)
    said = str(caught[0].message)
    assert f"only {hits} of the 8 transfers to eight are classified as eight" in said
    assert "learned prior p(z|c)" in said
    command = "'torchlvm train cvae --data digits --condition label --cvae-prior standard --out "
    assert command + str(tmp_path / "cvae-learned-standard") + "'" in said
    assert (run / "figures" / "transfer.png").is_file()


def test_a_standard_prior_cvae_that_keeps_the_class_is_told_other_fixes(
    tmp_path, capsys, monkeypatch
):
    monkeypatch.setattr(CVAE, "transfer", _keeping_the_class)
    argv = ["transfer", str(_run(tmp_path, "standard")), "--from-condition", "3"]
    with pytest.warns(UserWarning, match="keeps much of the original's class") as caught:
        assert cli.main([*argv, "--to-condition", "8", "--n", "8"]) == 0
    said = str(caught[0].message)
    assert "--cvae-prior" not in said and "more --epochs" in said and "--latent-dim" in said


def test_transfers_of_neither_class_are_not_blamed_on_the_prior(tmp_path, capsys, monkeypatch):
    """An untrained CVAE draws grey blurs that the classifier calls one class, neither the
    original's nor the target: the warning says so and names evaluate, not --cvae-prior."""

    def blur(self, x, c_from, c_to):  # (a little lighter for each later class: it reads c)
        return (0.3 + 0.002 * c_to.argmax(-1, keepdim=True)).expand(len(x), 64)  # (B, D)

    blurs = blur(None, torch.zeros(10, 64), None, torch.eye(10))
    called = set(dataset_classifier("digits").predict(blurs).tolist())
    source, target = [k for k in range(10) if k not in called][:2]
    monkeypatch.setattr(CVAE, "transfer", blur)
    run = _run(tmp_path)
    argv = ["transfer", str(run), "--from-condition", str(source), "--to-condition", str(target)]
    with pytest.warns(UserWarning, match="most are classified as neither") as caught:
        assert cli.main([*argv, "--n", "4"]) == 0
    assert _counted(capsys.readouterr().out, NAMES[target]) == (0, 4, 0)
    said = str(caught[0].message)
    assert f"'torchlvm evaluate {run}' measures how often" in said and "--cvae-prior" not in said


def test_transfers_that_reach_their_class_are_counted_without_a_warning(
    tmp_path, capsys, monkeypatch
):
    _reaching_the_target(monkeypatch)
    argv = ["transfer", str(_run(tmp_path)), "--from-condition", "3", "--to-condition", "8"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert cli.main([*argv, "--n", "6"]) == 0
    assert _counted(capsys.readouterr().out, "eight") == (6, 6, 0)


def test_every_target_class_is_counted_apart(tmp_path, capsys, monkeypatch):
    """--to-condition all: the transfers to a class other than the original's own, in all and
    by target class (a 3 'redrawn' as 3 is a reconstruction, not counted)."""
    _reaching_the_target(monkeypatch)
    argv = ["transfer", str(_run(tmp_path)), "--from-condition", "3", "--to-condition", "all"]
    assert cli.main([*argv, "--n", "2"]) == 0
    out = capsys.readouterr().out
    assert "  18 of 18 transfers to another class classified as their target by torchlvm's " in out
    assert "; 0 as three\n" in out
    each = ", ".join(f"{name} 2/2" for name in NAMES if name != "three")
    assert f"    by target class: {each}\n" in out


def test_without_the_classifier_the_figure_is_kept_and_the_measure_said_missing(
    tmp_path, capsys, monkeypatch
):
    """A classifier cache that cannot be written (the classifier is not there to read): the
    figure is written, exit 0, and a line says what was not measured and why."""
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("")
    monkeypatch.setenv("TORCHLVM_CACHE", str(blocked))
    run = _run(tmp_path)
    argv = ["transfer", str(run), "--from-condition", "3", "--to-condition", "8", "--n", "2"]
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if "not measured" in x)
    assert line.startswith("  not measured whether the transfers are of their target class: ")
    assert "TORCHLVM_CACHE" in line
    assert (run / "figures" / "transfer.png").is_file()


def test_a_classifier_no_better_than_chance_measures_nothing(tmp_path, capsys, monkeypatch):
    """userJ: on 60 pictures whose labels do not depend on them, the classifier's test accuracy
    0.833 was the rate of always answering the common class (5 of 6 test images), and its calls
    gave a warning and retraining advice. It is compared with that rate first: no verdict."""
    import numpy as np

    from torchlvm.evaluation import features

    monkeypatch.setenv("TORCHLVM_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(features, "TRAIN_STEPS", 200)  # (of labels unrelated to x: no step helps)
    rng = np.random.default_rng(0)
    path = tmp_path / "own pictures.npz"
    names = np.array(["hund" if i % 3 == 0 else "kätze" for i in range(60)])
    np.savez(path, x=rng.integers(0, 256, size=(60, 8, 8), dtype=np.uint8), y=names)
    torch.manual_seed(0)
    cvae = CVAE(CVAEConfig(64, 2, latent_dim=2, hidden=(8,), num_classes=2,
                           class_names=("hund", "kätze")))  # fmt: skip
    from torchlvm.data.pixels import READING  # (the file's uint8 read as today: /255)

    data = {**DATA, "name": str(path), "num_classes": 2, "class_names": ["hund", "kätze"],
            "pixels": READING}  # fmt: skip
    run = cvae.save_pretrained(tmp_path / "pictures", data=data)
    argv = ["transfer", str(run), "--from-condition", "kätze", "--to-condition", "hund"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # (no verdict, no advice)
        assert cli.main([*argv, "--n", "5"]) == 0
    out = capsys.readouterr().out
    said = "  not measured whether the transfers are of their target class: torchlvm's "
    assert said in out and "classifier is not clearly better than always answering kätze" in out
    assert "kätze is 5 of the 6 test examples), so its calls say nothing\n" in out
    assert "classified as hund" not in out


def test_a_class_blind_decoder_called_the_target_is_no_success(tmp_path, capsys, monkeypatch):
    """A CVAE after 3 epochs drew the same grey blob for every class, which the classifier
    called '8': "8 of 8 classified as 8", no warning (userM #1). The reconstructions under the
    examples' own class are the control: called 8 too, the transfers changed nothing."""
    test, classifier = load_dataset("digits", "test"), dataset_classifier("digits")
    eights = test.x[(test.y == 8) & (classifier.predict(test.x) == 8)]

    def blind(self, x, c_from, c_to):  # (a little lighter for each later class: it reads c)
        return eights[: len(x)] * (1 - 0.01 * c_to.expand(len(x), -1).argmax(-1, keepdim=True))

    monkeypatch.setattr(CVAE, "transfer", blind)
    run = _run(tmp_path)
    argv = ["transfer", str(run), "--from-condition", "3", "--to-condition", "8", "--n", "6"]
    with pytest.warns(UserWarning, match="draws much the same image whatever the class") as w:
        assert cli.main(argv) == 0
    out = capsys.readouterr().out
    assert _counted(out, "eight") == (6, 6, 0)
    assert "    6 of the 6 originals' reconstructions under their own class are classified as " \
        "eight already: 0 of the 6 transfers changed into their target\n" in out  # fmt: skip
    said = str(w[0].message)
    assert said.startswith("6 of the 6 transfers to eight are classified as eight, but 6 of")
    assert f"'torchlvm evaluate {run}' measures" in said and "--cvae-prior" not in said


def test_transfers_that_reach_their_target_say_nothing_more(tmp_path, capsys, monkeypatch):
    """The control says nothing where the reconstructions are of their own class."""
    _reaching_the_target(monkeypatch)
    argv = ["transfer", str(_run(tmp_path)), "--from-condition", "3", "--to-condition", "8"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert cli.main([*argv, "--n", "5"]) == 0
    out = capsys.readouterr().out
    assert _counted(out, "eight") == (5, 5, 0) and "reconstructions" not in out

"""``score`` on a CVAE of class labels (userG #18: it refused one, while ``evaluate --ood`` and
``CVAEEstimator.score_samples`` score its rows): −log p(x | c) of each row's own class where the
file has the label column, else (or with --mixture) −log Σ_c π_c p(x | c). Checked against the
exact densities of a linear-Gaussian CVAE (p(z | c) = N(0, I), x = W [z, c] + b + N(0, I):
x | c ~ N(W_c c + b, W_z W_zᵀ + I)) and against CVAEEstimator on the same rows."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import torch
from torch.distributions import MultivariateNormal

from torchlvm import cli
from torchlvm.data.table_schema import TableSchema
from torchlvm.models import CVAE, VAE, CVAEConfig, VAEConfig

NAMES = ("high", "low")
COUNTS = {"high": 3, "low": 1}  # π = (3/4, 1/4)
ROWS = [[1.5, 2.5], [-1.5, -2.5], [0.5, 1.0], [0.0, 0.0]]


@pytest.fixture
def linear_run(tmp_path):
    torch.manual_seed(0)
    config = CVAEConfig(2, 2, latent_dim=1, hidden=(8,), likelihood="gaussian", num_classes=2,
                        class_names=NAMES, prior="standard", linear_decoder=True)  # fmt: skip
    data = {"name": "t.csv", "binarize": "none", "seed": 0, "condition": "label",
            "num_classes": 2, "class_names": list(NAMES), "class_counts": COUNTS,
            "table": TableSchema(("a", "b"), label_column="kind").to_dict()}  # fmt: skip
    model = CVAE(config)
    model.save_pretrained(tmp_path / "cvae", data=data)
    return model, tmp_path / "cvae"


def _exact_log_px_c(model, label: int) -> torch.Tensor:
    """log p(x | c) of :data:`ROWS` ``(N,)`` under class ``label``, in closed form."""
    weight, bias = model.decoder.weight.detach().double(), model.decoder.bias.detach().double()
    w_z, w_c = weight[:, :1], weight[:, 1:]
    mean = w_c @ torch.eye(2, dtype=torch.float64)[label] + bias
    return MultivariateNormal(mean, w_z @ w_z.T + torch.eye(2)).log_prob(torch.tensor(ROWS))


def _scores(path, column):
    rows = list(csv.DictReader(path.open()))
    value = [float(r[column]) if r[column] else np.nan for r in rows]
    return np.array(value), np.array([float(r["stderr"]) if r["stderr"] else np.nan for r in rows])


def _score(capsys, run, table, out, *flags):
    argv = ["score", run, "--data", table, "--out", out, "--samples", "4000", *flags]
    assert cli.main([str(a) for a in argv]) == 0, capsys.readouterr().err
    return capsys.readouterr().out


def test_rows_with_their_class_are_scored_by_p_x_given_their_class(linear_run, tmp_path, capsys):
    model, run = linear_run
    table = tmp_path / "new.csv"  # a row of no label, one of a class the run lacks
    table.write_text("a,b,kind\n1.5,2.5,high\n-1.5,-2.5,low\n0.5,1.0,\n0.0,0.0,mid\n")
    out = _score(capsys, run, table, tmp_path / "s.csv")
    assert "  −log p(x | c): nats per row (importance-sampled with 4000 samples" in out
    assert "  c: each row's own class, from its column 'kind': how unlikely the row is" in out
    said = "  2 rows of no class the run was trained on (lines 4 '', 5 'mid'): written with "
    assert said + "empty scores; --mixture scores every row by p(x)\n" in out
    header = (tmp_path / "s.csv").read_text().splitlines()[0]
    assert header == "row,line,kind,neg_log_p_given_kind,stderr,ess,observed,rank"
    got, err = _scores(tmp_path / "s.csv", "neg_log_p_given_kind")
    exact = -torch.stack([_exact_log_px_c(model, 0), _exact_log_px_c(model, 1)])  # (C, N)
    np.testing.assert_array_less(np.abs(got[:2] - exact[[0, 1], [0, 1]].numpy()), 5 * err[:2])
    assert np.isnan(got[2:]).all()
    written = list(csv.DictReader((tmp_path / "s.csv").open()))
    assert [r["rank"] for r in written[2:]] == ["", ""]
    assert [r["observed"] for r in written] == ["2"] * 4


def test_rows_without_a_class_are_scored_by_the_class_mixture(linear_run, tmp_path, capsys):
    """No label column (or --mixture): −log Σ_c π_c p(x | c), π the recorded class counts."""
    model, run = linear_run
    bare = tmp_path / "bare.csv"
    bare.write_text("a,b\n" + "\n".join(f"{a},{b}" for a, b in ROWS) + "\n")
    out = _score(capsys, run, bare, tmp_path / "m.csv")
    assert "  −log p(x) = −log Σ_c π_c p(x | c): nats per row (importance-sampled with 4000 " in out
    assert "π_c the train split's class frequencies (high 0.750, low 0.250)" in out
    assert "the file has no column 'kind' of the rows' classes; the density evaluate" in out
    got, err = _scores(tmp_path / "m.csv", "neg_log_p")
    log_prior = torch.tensor([0.75, 0.25], dtype=torch.float64).log()[:, None]
    exact = torch.stack([_exact_log_px_c(model, 0), _exact_log_px_c(model, 1)])  # (C, N)
    expected = -torch.logsumexp(exact + log_prior, 0).numpy()
    np.testing.assert_array_less(np.abs(got - expected), 5 * err)
    labelled = tmp_path / "labelled.csv"  # with --mixture, the file's classes are not used
    labelled.write_text("kind,a,b\n" + "\n".join(f"low,{a},{b}" for a, b in ROWS) + "\n")
    out = _score(capsys, run, labelled, tmp_path / "lm.csv", "--mixture")
    assert "every row by p(x), whatever its class (--mixture)" in out
    again, err = _scores(tmp_path / "lm.csv", "neg_log_p")
    np.testing.assert_array_less(np.abs(again - expected), 5 * err)


def test_the_mixture_is_cvae_estimators_score_samples_without_y(tmp_path, capsys):
    """The same model, the same rows: the command's score and CVAEEstimator.score_samples(X)
    (each importance-sampled, with its own draws) agree within their errors."""
    from sklearn.datasets import load_wine

    from torchlvm.estimators import CVAEEstimator

    wine = load_wine()
    x = (wine.data - wine.data.mean(0)) / wine.data.std(0)
    y = np.array(["a", "b", "c"])[wine.target]
    est = CVAEEstimator(latent_dim=2, hidden=(16,), epochs=3, k=4000, random_state=0).fit(x, y)
    counts = {name: int((y == name).sum()) for name in est.classes_}
    data = {"name": "x.npy", "binarize": "none", "seed": 0, "condition": "label",
            "num_classes": 3, "class_names": ["a", "b", "c"], "class_counts": counts}  # fmt: skip
    run = est.model_.save_pretrained(tmp_path / "est", data=data)
    rows = x[::30]  # (6, 13)
    np.save(tmp_path / "rows.npy", rows)
    _score(capsys, run, tmp_path / "rows.npy", tmp_path / "e.csv")
    got, err = _scores(tmp_path / "e.csv", "neg_log_p")
    np.testing.assert_array_less(np.abs(got + est.score_samples(rows)), 5 * np.sqrt(2) * err)


def test_mixture_is_refused_for_a_model_without_classes(tmp_path, capsys):
    vae = VAE(VAEConfig(input_dim=2, latent_dim=1, hidden=(4,), likelihood="gaussian"))
    run = vae.save_pretrained(tmp_path / "vae", data={"name": "t.npy", "condition": "none"})
    np.save(tmp_path / "t.npy", np.zeros((3, 2)))
    argv = ["score", run, "--data", tmp_path / "t.npy", "--out", tmp_path / "s.csv", "--mixture"]
    assert cli.main([str(a) for a in argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("torchlvm: error: --mixture scores a CVAE of class labels by p(x)")
    assert err.rstrip().endswith("leave out --mixture") and err.count("\n") == 1
    assert not (tmp_path / "s.csv").exists()


def test_a_cvae_of_another_condition_is_still_refused(tmp_path, capsys):
    """A mask CVAE's p(x | c) is of a condition taken from the row itself: no p(x) to rank by."""
    cvae = CVAE(CVAEConfig(64, 64, latent_dim=2, hidden=(8,)))
    data = {"name": "digits", "binarize": "none", "seed": 0, "condition": "mask:top",
            "shape": [1, 8, 8]}  # fmt: skip
    run = cvae.save_pretrained(tmp_path / "inpaint", data=data)
    argv = ["score", run, "--data", "digits", "--out", tmp_path / "s.csv"]
    assert cli.main([str(a) for a in argv]) == 2
    err = capsys.readouterr().err
    assert "holds a CVAE conditioned on mask:top, whose p(x | c) depends on each row's" in err
    assert not (tmp_path / "s.csv").exists()


def test_a_datasets_labels_condition_its_images_and_name_them(tmp_path, capsys):
    """--data digits on a digits CVAE: each image by p(x | its class), from the dataset's labels
    (the run's classes), its class named in --top's lines, which carry no label column."""
    from torchlvm.data import load_dataset

    torch.manual_seed(0)
    names = [str(k) for k in range(10)]
    cvae = CVAE(CVAEConfig(64, 10, latent_dim=2, hidden=(8,), num_classes=10, class_names=names))
    data = {"name": "digits", "binarize": "none", "seed": 0, "condition": "label",
            "shape": [1, 8, 8], "num_classes": 10, "class_names": names}  # fmt: skip
    run = cvae.save_pretrained(tmp_path / "digits", data=data)
    argv = ["score", run, "--data", "digits", "--out", tmp_path / "s.csv", "--samples", "4"]
    assert cli.main([str(a) for a in [*argv, "--top", "2"]]) == 0
    out = capsys.readouterr().out
    assert "  c: each row's own class, from the dataset's labels: how unlikely" in out
    header = (tmp_path / "s.csv").read_text().splitlines()[0]
    assert header == "row,class,neg_log_p_given_class,stderr,ess,observed,rank"  # (#13)
    rows = list(csv.DictReader((tmp_path / "s.csv").open()))
    y = load_dataset("digits", "all").y.tolist()
    assert [r["class"] for r in rows] == [str(k) for k in y]
    first = next(r for r in rows if r["rank"] == "1")
    assert f"  rank 1: row {first['row']} (class '{first['class']}'), −log p(x | c) = " in out


def test_a_datasets_labels_are_written_beside_a_vaes_scores_and_of_classes_the_run_lacks(
    tmp_path, capsys
):
    """The class a labelled .npz gives each row is written beside any model's scores, as the
    data name it; a CVAE's rows of a class it lacks are named by line with their label."""
    names = ["cat", "dog"]
    cvae = CVAE(CVAEConfig(2, 2, latent_dim=1, hidden=(4,), likelihood="gaussian",
                           num_classes=2, class_names=names))  # fmt: skip
    data = {"name": "t.npz", "binarize": "none", "condition": "label", "num_classes": 2,
            "class_names": names}  # fmt: skip
    run = cvae.save_pretrained(tmp_path / "cvae", data=data)
    vae = VAE(VAEConfig(input_dim=2, latent_dim=1, hidden=(4,), likelihood="gaussian"))
    plain = vae.save_pretrained(tmp_path / "vae", data={"name": "t.npz", "condition": "none"})
    x = np.random.default_rng(0).normal(size=(4, 2))
    np.savez(tmp_path / "t.npz", x=x, y=np.array(["dog", "cat", "eel", "dog"]))
    for model, out in ((run, "c.csv"), (plain, "v.csv")):
        argv = ["score", model, "--data", tmp_path / "t.npz", "--out", tmp_path / out]
        assert cli.main([str(a) for a in [*argv, "--samples", "3"]]) == 0
        rows = list(csv.DictReader((tmp_path / out).open()))
        assert [r["class"] for r in rows] == ["dog", "cat", "eel", "dog"]
    said = capsys.readouterr().out
    assert "  1 row of no class the run was trained on (row 3 'eel'): written with empty" in said


def test_long_importance_sampling_is_priced_before_it_starts(tmp_path, capsys, monkeypatch):
    """userJ: `score --samples 100000000` said nothing for 100 s (the pace waits for its first
    batch of 256 rows). Large work is priced from a probe first, on its own random stream: the
    scores are those of a run without it."""
    import torchlvm.cli.score as score

    vae = VAE(VAEConfig(input_dim=2, latent_dim=1, hidden=(4,), likelihood="gaussian"))
    run = vae.save_pretrained(tmp_path / "vae", data={"name": "t.npy", "condition": "none"})
    np.save(tmp_path / "t.npy", np.random.default_rng(0).normal(size=(300, 2)))
    argv = ["score", run, "--data", tmp_path / "t.npy", "--samples", "50", "--out"]
    assert cli.main([str(a) for a in [*argv, tmp_path / "plain.csv"]]) == 0
    assert "expected time of the importance sampling: about" not in capsys.readouterr().out
    monkeypatch.setattr(score, "PRICED_WORK", 1)
    monkeypatch.setattr(score, "PRICED_SECONDS", 0)
    assert cli.main([str(a) for a in [*argv, tmp_path / "priced.csv"]]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith("expected time of the importance sampling: about ")
    assert "for 300 rows x 50 samples (a probe of 256 rows took " in first
    plain, priced = (
        _scores(tmp_path / "plain.csv", "neg_log_p"),
        _scores(tmp_path / "priced.csv", "neg_log_p"),
    )
    np.testing.assert_array_equal(plain[0], priced[0])


@pytest.mark.parametrize(
    "known, unknown, empty, said",
    [
        (512, 3, 2, None),
        (600, 50, 10, "more for 88 rows (5 samples each; the second 256 rows took "),
    ],
    ids=["none-left-to-score", "only-the-rows-to-score"],
)
def test_the_expected_time_counts_only_the_rows_that_will_be_scored(
    linear_run, tmp_path, capsys, known, unknown, empty, said
):
    """review12 #4: of 5 rows of the run's classes and 3 of none, score said "<1 s more for 3
    rows" after the 5, for rows it never draws for. Rows of no known class and rows with no
    value are not counted; where none is left, nothing is said."""
    _, run = linear_run
    lines = ["1.0,2.0,high"] * known + ["1.0,2.0,mid"] * unknown + [",,low"] * empty
    table = tmp_path / "new.csv"
    table.write_text("a,b,kind\n" + "\n".join(lines) + "\n")
    argv = ["score", run, "--data", table, "--out", tmp_path / "s.csv", "--samples", "5"]
    assert cli.main([str(a) for a in argv]) == 0, capsys.readouterr().err
    timed = [line for line in capsys.readouterr().out.splitlines() if "expected time" in line]
    if said is None:
        assert timed == []
    else:
        assert len(timed) == 1 and said in timed[0]


def test_the_priced_time_counts_only_the_rows_that_will_be_scored(
    linear_run, tmp_path, capsys, monkeypatch
):
    import torchlvm.cli.score as score

    _, run = linear_run
    lines = ["1.0,2.0,high"] * 40 + ["1.0,2.0,mid"] * 7 + [",,low"] * 3
    table = tmp_path / "new.csv"
    table.write_text("a,b,kind\n" + "\n".join(lines) + "\n")
    monkeypatch.setattr(score, "PRICED_WORK", 1)
    monkeypatch.setattr(score, "PRICED_SECONDS", 0)
    argv = ["score", run, "--data", table, "--out", tmp_path / "s.csv", "--samples", "5"]
    assert cli.main([str(a) for a in argv]) == 0, capsys.readouterr().err
    first = capsys.readouterr().out.splitlines()[0]
    assert "about " in first and " for 40 rows x 5 samples (a probe of " in first


def test_the_expected_time_of_the_mixture_says_its_samples_are_per_class(
    linear_run, tmp_path, capsys, monkeypatch
):
    """The mixture draws --samples for each class of each row: its lines said "5 samples each"."""
    import torchlvm.cli.score as score

    _, run = linear_run
    table = tmp_path / "new.csv"
    table.write_text("a,b,kind\n" + "1.0,2.0,high\n" * 600)
    monkeypatch.setattr(score, "PRICED_WORK", 1)
    monkeypatch.setattr(score, "PRICED_SECONDS", 0)
    argv = ["score", run, "--data", table, "--out", tmp_path / "s.csv", "--samples", "5"]
    assert cli.main([str(a) for a in [*argv, "--mixture"]]) == 0, capsys.readouterr().err
    priced, pace = capsys.readouterr().out.splitlines()[:2]
    assert " for 600 rows x 5 samples per class (a probe of 256 rows took " in priced
    assert " more for 88 rows (5 samples per class; the second 256 rows took " in pace


@pytest.mark.parametrize(
    "device",
    [
        "cpu",
        pytest.param(
            "cuda",
            marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
        ),
    ],
)
def test_the_priced_probe_leaves_the_callers_generators_as_they_were(device, monkeypatch):
    """review12 #17: the probe drew under fork_rng(devices=[]), which keeps the CPU's generator
    alone: on a GPU it advanced the CUDA generator the scores then drew from."""
    import torchlvm.cli.score as score
    from torchlvm.cli._score_classes import ClassScoring

    monkeypatch.setattr(score, "PRICED_SECONDS", float("inf"))  # (timed, not printed)
    vae = VAE(VAEConfig(input_dim=2, latent_dim=1, hidden=(4,), likelihood="gaussian")).to(device)
    x = torch.randn(300, 2)
    torch.manual_seed(5)
    cpu = torch.get_rng_state()
    cuda = torch.cuda.get_rng_state() if device == "cuda" else None
    score._price(vae.eval(), x, 50, ClassScoring(), len(x))
    assert torch.equal(torch.get_rng_state(), cpu)
    assert cuda is None or torch.equal(torch.cuda.get_rng_state(), cuda)


def test_rows_of_a_class_no_train_row_has_are_not_scored_as_of_it(tmp_path, capsys):
    """userU #9: a class whose rows all fell outside the train split (sample refuses it) had its
    rows scored by p(x | c) of a class the model learned nothing of, written and ranked (12th
    most outlying of 178) without a word. They are written with empty scores and one line."""
    torch.manual_seed(0)
    config = CVAEConfig(2, 2, latent_dim=1, hidden=(8,), likelihood="gaussian", num_classes=2,
                        class_names=NAMES, prior="standard", linear_decoder=True)  # fmt: skip
    data = {"name": "t.csv", "binarize": "none", "seed": 0, "condition": "label",
            "num_classes": 2, "class_names": list(NAMES), "class_counts": {"high": 4, "low": 0},
            "table": TableSchema(("a", "b"), label_column="kind").to_dict()}  # fmt: skip
    run = CVAE(config).save_pretrained(tmp_path / "cvae", data=data)
    table = tmp_path / "new.csv"
    table.write_text("a,b,kind\n1.5,2.5,high\n-1.5,-2.5,low\n0.5,1.0,high\n")
    out = _score(capsys, run, table, tmp_path / "s.csv")
    said = "  1 row of a class no row of the train split has, so the model learned nothing of it "
    assert said + "(line 3 'low'): written with empty scores; --mixture" in out
    got, _ = _scores(tmp_path / "s.csv", "neg_log_p_given_kind")
    assert np.isfinite(got[[0, 2]]).all() and np.isnan(got[1])
    _score(capsys, run, table, tmp_path / "m.csv", "--mixture")  # every row by p(x)
    assert np.isfinite(_scores(tmp_path / "m.csv", "neg_log_p")[0]).all()


def test_labels_read_loosely_as_a_class_are_said(linear_run, tmp_path, capsys):
    """userU #8: score took 'High' and ' low' as the run's 'high' and 'low' without a word,
    where encode and transfer now say so (run.labels.say_loose_labels)."""
    _, run = linear_run
    table = tmp_path / "new.csv"
    table.write_text("a,b,kind\n1.5,2.5,High\n-1.5,-2.5,low\n0.5,1.0,high\n")
    with pytest.warns(UserWarning, match=r"labels written otherwise .*: 'High' as 'high'$"):
        _score(capsys, run, table, tmp_path / "s.csv")
    table.write_text("a,b,kind\n1.5,2.5,high\n-1.5,-2.5,low\n")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _score(capsys, run, table, tmp_path / "t.csv")

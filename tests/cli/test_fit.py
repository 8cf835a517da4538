"""`torchlvm fit ppca`: the files it writes, the numbers in them, and its bad-input errors."""

import json
import re

import numpy as np
import pytest

import torchlvm
from torchlvm.cli import main
from torchlvm.data import load_dataset


def test_fit_writes_a_loadable_model_and_exact_metrics(tmp_path, capsys):
    out = tmp_path / "ppca"
    assert main(["fit", "ppca", "--data", "digits", "--latent-dim", "5", "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "config.json",
        "metrics.json",
        "model.safetensors",
    ]
    metrics = json.loads((out / "metrics.json").read_text())
    model = torchlvm.load(out)
    test = load_dataset("digits", "test")
    assert metrics["test_log_likelihood"] == pytest.approx(model.score(test.x), rel=1e-12)
    assert metrics["unit"].startswith("nats per example")
    assert metrics["test_bits_per_dim"] == pytest.approx(
        -metrics["test_log_likelihood"] / (64 * np.log(2))
    )
    printed = capsys.readouterr().out
    assert "nats/example (exact)" in printed and "bits/dim" in printed


def test_em_reaches_the_closed_form_likelihood(tmp_path):
    args = ["fit", "ppca", "--data", "digits", "--latent-dim", "4"]
    assert main([*args, "--out", str(tmp_path / "cf")]) == 0
    assert main([*args, "--method", "em", "--out", str(tmp_path / "em")]) == 0
    cf = json.loads((tmp_path / "cf" / "metrics.json").read_text())
    em = json.loads((tmp_path / "em" / "metrics.json").read_text())
    assert em["train_log_likelihood"] == pytest.approx(cf["train_log_likelihood"], rel=1e-6)


def test_existing_output_is_kept_without_overwrite(tmp_path, capsys):
    out = tmp_path / "ppca"
    args = ["fit", "ppca", "--data", "digits", "--latent-dim", "3", "--out", str(out)]
    assert main(args) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    capsys.readouterr()
    assert main([*args[:-2], "--latent-dim", "6", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--overwrite" in err[0]
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert main([*args, "--overwrite"]) == 0


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--latent-dim", "0"], "argument --latent-dim: must be a positive integer, got 0"),
        (["--latent-dim", "3", "--max-iter", "0"], "argument --max-iter: must be a positive"),
        (["--latent-dim", "64"], "64"),
        (["--latent-dim", "3", "--data", "no-such-data"], "unknown|must be one of"),
    ],
    ids=["zero-latent", "zero-iterations", "latent-equals-features", "unknown-dataset"],
)
def test_bad_input_is_one_line_and_writes_nothing(tmp_path, capsys, extra, message):
    """A bad number is refused naming the option, as train's are (it said 'latent_dim', the
    Python keyword); an argparse refusal adds one pointer to --help."""
    out = tmp_path / "ppca"
    args = ["fit", "ppca", "--data", "digits", *extra, "--out", str(out)]
    try:
        status = main(args)
    except SystemExit as exit_:  # argparse's refusal of a bad number
        status = exit_.code
    assert status == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0].startswith("torchlvm: error:")
    assert err[1:] in ([], ["  see 'torchlvm fit --help'"])
    assert re.search(message, err[0])
    assert not out.exists()


def test_a_gzipped_tab_separated_table_is_a_table_like_its_csv(tmp_path, capsys):
    """.tsv and .csv.gz/.tsv.gz files are tables: standardized by default, recorded, scored
    with their file lines."""
    import gzip

    from sklearn.datasets import load_wine

    wine = load_wine()
    lines = ["\t".join([*wine.feature_names, "label"])]
    pairs = zip(wine.data.tolist(), wine.target.tolist(), strict=True)
    lines += ["\t".join([*map(str, row), str(y)]) for row, y in pairs]
    data = tmp_path / "wine.tsv.gz"
    data.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    out = tmp_path / "ppca"
    argv = ["fit", "ppca", "--data", str(data), "--label-column", "label", "--latent-dim", "2"]
    assert main([*argv, "--out", str(out)]) == 0
    assert "nats/row (exact, in the run's standardized units)" in capsys.readouterr().out
    record = json.loads((out / "config.json").read_text())["data"]
    assert record["options"]["standardize"] is True and len(record["table"]["columns"]) == 13
    scores = tmp_path / "scores.csv"
    assert main(["score", str(out), "--data", str(data), "--out", str(scores)]) == 0
    rows = scores.read_text().splitlines()
    assert len(rows) == 179 and rows[1].startswith("1,2,")  # row 1 is the file's line 2


def test_em_on_missing_cells_says_log_p_of_the_observed_cells(tmp_path, capsys):
    """fit ppca --method em --allow-missing recorded 'exact log p(x)' and bits/dim over D for
    an average of log p(x_o) over rows holding fewer cells (userA #38, shell8 item 3): its unit,
    its lines and its report card say observed cells, and give no bits/dim."""
    x = np.random.default_rng(0).normal(size=(80, 4))
    cells = [[f"{v:.4f}" for v in row] for row in x]
    for i in range(0, 80, 3):
        cells[i][i % 4] = ""
    path = tmp_path / "holes.csv"
    path.write_text("a,b,c,d\n" + "\n".join(",".join(row) for row in cells) + "\n")
    out = tmp_path / "em"
    argv = ["fit", "ppca", "--data", str(path), "--latent-dim", "1", "--method", "em"]
    assert main([*argv, "--allow-missing", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    metrics = json.loads((out / "metrics.json").read_text())
    assert "test_bits_per_dim" not in metrics and "bits/dim" not in printed
    assert metrics["unit"].startswith("nats per row (log p(x_o), exact, over each row's observed")
    assert re.search(r"test  log p\(x_o\): -?\d+\.\d+ nats/row \(exact, over each row's", printed)
    assert main(["report", str(out), "--out", str(tmp_path / "r.html")]) == 0
    html = (tmp_path / "r.html").read_text()
    assert "test log p(x_o)" in html and "observed cells" in html


def _numbers(path, rows: int, columns: int, header: str | None = None):
    x = np.random.default_rng(1).normal(size=(rows, columns))
    names = header or ",".join(f"g{j}" for j in range(columns))
    path.write_text(names + "\n" + "\n".join(",".join(f"{v:.3f}" for v in r) for r in x) + "\n")
    return path


@pytest.mark.parametrize(
    ("rows", "columns", "argv", "message"),
    [
        (20, 1, ["--latent-dim", "1"], r"^\S+one\.csv has 1 feature column \('g0'\); PPCA needs 2"),
        (
            20,
            3,
            ["--latent-dim", "1", "--drop-columns", "g1,g2"],
            r"has 1 feature column \('g0'\) after --drop-columns; PPCA needs 2 or more",
        ),
        (20, 3, ["--latent-dim", "3"], r"--latent-dim 3: \S+ has 3 columns .* from 1 to 2$"),
        (
            120,
            300,
            ["--latent-dim", "150"],
            r"--latent-dim 150: the train split of \S+ has 96 of its 120 rows \(80%\), which span "
            r"at most 95 directions .*; choose --latent-dim at most 94, or fit a file with more",
        ),
        (  # review9: 'from 1 to 12' was offered, then 12 refused 'at most 8' (two rules)
            12,
            13,
            ["--latent-dim", "20"],
            r"--latent-dim 20: \S+ has 13 columns, .*, its train split's 10 rows allowing 8; "
            r"choose --latent-dim from 1 to 8$",
        ),
    ],
    ids=[
        "one-column",
        "one-column-after-drops",
        "latent-as-columns",
        "latent-past-rows",
        "latent-as-columns-of-few-rows",
    ],  # fmt: skip
)
def test_what_ppca_cannot_fit_is_said_of_the_file(tmp_path, capsys, rows, columns, argv, message):
    """fit ppca said scikit-learn's 'X has n_features=1' and 'X has 96 rows, ... fit at least
    152 rows' (eval8 item 4, userC): the file, its columns or its train split of its rows, and
    the --latent-dim that fits."""
    data = _numbers(tmp_path / ("one.csv" if columns == 1 else "t.csv"), rows, columns)
    capsys.readouterr()
    assert main(["fit", "ppca", "--data", str(data), *argv, "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "X has" not in err and "n_features" not in err, err
    assert re.search(message, err.removeprefix("torchlvm: error: ").strip()), err
    assert not (tmp_path / "r").exists()


def test_a_test_split_of_few_rows_is_said_once(tmp_path, recwarn):
    """A 12-row table is split 10/1/1, and fit printed 'test log p(x)' of ONE row with no word
    (userC): one warning says how many rows the number is the mean of."""
    data = _numbers(tmp_path / "small.csv", 12, 3)
    argv = ["fit", "ppca", "--latent-dim", "1", "--data"]
    assert main([*argv, str(data), "--out", str(tmp_path / "r")]) == 0
    (said,) = [str(w.message) for w in recwarn]
    assert "has 12 rows, and its test split 1 of them" in said and "mean of 1 row," in said
    recwarn.clear()
    assert (
        main([*argv, str(_numbers(tmp_path / "big.csv", 200, 3)), "--out", str(tmp_path / "b")])
        == 0
    )
    assert not [str(w.message) for w in recwarn]


def test_a_table_takes_trains_default_latent_dim(tmp_path, capsys):
    """fit ppca on a table without --latent-dim was refused while train picks the table default
    (userC): fit takes the same default, below the columns, and says it; other data need it."""
    data = _numbers(tmp_path / "six.csv", 200, 6)
    assert main(["fit", "ppca", "--data", str(data), "--out", str(tmp_path / "r")]) == 0
    assert "--latent-dim 3: a table's default for its 6 columns" in capsys.readouterr().out
    assert json.loads((tmp_path / "r" / "metrics.json").read_text())["latent_dim"] == 3
    assert (
        main(
            [
                "fit",
                "ppca",
                "--data",
                str(_numbers(tmp_path / "two.csv", 200, 2)),
                "--out",
                str(tmp_path / "t"),
            ]
        )
        == 0
    )
    assert "--latent-dim 1:" in capsys.readouterr().out
    assert main(["fit", "ppca", "--data", "digits", "--out", str(tmp_path / "d")]) == 2
    assert "--latent-dim is needed for digits" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("data", "given", "applied"),
    [("rows.csv", [], 1), ("rows.csv", ["--threads", "2"], 2), ("digits", [], None)],
)
def test_a_table_is_fitted_on_one_thread_unless_told(tmp_path, monkeypatch, data, given, applied):
    """fit took torch's threads on a table, as train does not: EM on 569 rows of 30 columns at
    load 8-11 took 13-60 s on 2 threads and 0.6-0.9 s on one (userG)."""
    import torchlvm.cli.fit as fit

    rows = np.random.default_rng(0).normal(size=(60, 4))
    np.savetxt(tmp_path / "rows.csv", rows, delimiter=",", header="a,b,c,d", comments="")
    seen = []
    monkeypatch.setattr(fit, "apply_threads", seen.append)
    monkeypatch.chdir(tmp_path)
    argv = ["fit", "ppca", "--data", data, "--latent-dim", "2", "--out", "run", *given]
    assert main(argv) == 0
    assert seen == [applied]


def test_the_em_warning_names_the_flag_the_cli_has(tmp_path):
    """EM's warning said "raise max_iter or tol" on the command line, which has --max-iter and no
    tolerance option: the CLI prints the warning's command-line words."""
    from torchlvm.cli import _one_line_warning

    argv = ["fit", "ppca", "--data", "digits", "--method", "em", "--max-iter", "3"]
    with pytest.warns(Warning, match="did not converge") as caught:
        assert main([*argv, "--latent-dim", "5", "--out", str(tmp_path / "run")]) == 0
    warning = next(w for w in caught if "did not converge" in str(w.message))
    line = _one_line_warning(warning.message, warning.category)
    assert line.startswith("torchlvm: warning: PPCA EM did not converge in 3 iterations (--max")
    assert line.rstrip().endswith("raise --max-iter") and "max_iter" not in line


@pytest.mark.parametrize("recorded", [True, False], ids=["new-run", "run-before-dtype"])
def test_a_table_ppca_scores_in_float64_to_the_last_digit(tmp_path, capsys, recorded):
    """fit ppca read its table in float32 and score read a file so too, while PPCA computes in
    float64: score's 16-digit −log p(x) was off by up to 2.7e-5 nats from a float64
    computation (userG #3). fit reads and records dtype float64; score reads a file in the
    model's precision (a run recorded before the option too): each row's value is NumPy's
    float64 log-density, from the file's own digits, to 1e-9 nats."""
    from safetensors.numpy import load_file

    rng = np.random.default_rng(12)
    z = rng.normal(size=(200, 2))
    x = (z @ rng.normal(size=(2, 5)) + 0.3 * rng.normal(size=(200, 5))) * [1e3, 1, 1e-3, 7, 0.1]
    x += [5e4, 0, 1, -300, 2]  # (N, D) in mixed units, 17 significant digits a cell
    path = tmp_path / "t.csv"
    path.write_text("a,b,c,d,e\n" + "".join(",".join(map(repr, r)) + "\n" for r in x.tolist()))
    run = tmp_path / "ppca"
    assert main(["fit", "ppca", "--data", str(path), "--latent-dim", "2", "--out", str(run)]) == 0
    config = json.loads((run / "config.json").read_text())
    assert config["data"]["options"]["dtype"] == "float64"
    if not recorded:
        del config["data"]["options"]["dtype"]
        (run / "config.json").write_text(json.dumps(config))
    scores = tmp_path / "s.csv"
    assert main(["score", str(run), "--data", str(path), "--out", str(scores)]) == 0
    got = np.genfromtxt(scores, delimiter=",", names=True)["neg_log_p"]
    standard = config["data"]["table"]["standardize"]
    mean, scale = np.array(standard["mean"]), np.array(standard["scale"])
    params = load_file(run / "model.safetensors")
    w, mu, sigma2 = params["W"], params["mu"], float(params["sigma2"])
    cov = w @ w.T + sigma2 * np.eye(5)  # (D, D), standardized units
    diff = (x - mean) / scale - mu  # (N, D)
    log_p = (
        -0.5
        * (
            np.einsum("nd,nd->n", diff, np.linalg.solve(cov, diff.T).T)
            + np.linalg.slogdet(2 * np.pi * cov)[1]
        )
        - np.log(scale).sum()
    )
    np.testing.assert_allclose(got, -log_p, rtol=0, atol=1e-9)


def test_threads_given_to_fit_are_the_ones_ppca_runs_on(tmp_path, monkeypatch):
    """PPCA takes one torch thread by default (its ``threads``); fit builds it with None, so
    that ``--threads 2`` (or the table's one thread the command set) is what EM runs on, not
    one thread set again inside the model."""
    import torch

    rows = np.random.default_rng(0).normal(size=(60, 4))
    np.savetxt(tmp_path / "rows.csv", rows, delimiter=",", header="a,b,c,d", comments="")
    calls, before = [], torch.get_num_threads()
    set_threads = torch.set_num_threads
    monkeypatch.setattr(torch, "set_num_threads", lambda n: calls.append(n) or set_threads(n))
    argv = ["fit", "ppca", "--data", str(tmp_path / "rows.csv"), "--latent-dim", "2"]
    assert main([*argv, "--threads", "2", "--out", str(tmp_path / "run")]) == 0
    assert calls in ([2], [2, before])  # (the caller's count back after; none in between)


@pytest.mark.parametrize(
    "second",
    [
        ["fit", "ppca", "--data", "digits", "--latent-dim", "2", "--overwrite"],
        ["train", "ae", "--data", "digits", "--latent-dim", "2", "--epochs", "1", "--overwrite"],
    ],
    ids=["fit", "train"],
)
def test_a_second_command_into_the_out_of_a_running_fit_is_refused(
    tmp_path, capsys, monkeypatch, second
):
    """fit holds the run lock while it fits, as train holds it while it trains (userO #5): it
    took it only to write, so a second fit or train into --out meanwhile went ahead, and the
    one that wrote last replaced the other's run."""
    from torchlvm.models.ppca import PPCA

    out, fit, seen = tmp_path / "ppca", PPCA.fit, []

    def fit_while_another_starts(self, x):
        if not seen:  # (the second command, if it were let through, fits too)
            seen.append(main([*second, "--out", str(out)]))
            seen.append(capsys.readouterr().err)
        return fit(self, x)

    monkeypatch.setattr(PPCA, "fit", fit_while_another_starts)
    args = ["fit", "ppca", "--data", "digits", "--latent-dim", "3", "--out", str(out)]
    assert main(args) == 0
    status, err = seen
    assert status != 0 and re.fullmatch(
        rf"torchlvm: error: {re.escape(str(out))} is being trained by pid \d+; wait for it to "
        r"finish\n",
        err,
    )
    assert json.loads((out / "config.json").read_text())["model"]["latent_dim"] == 3


def test_a_refused_fit_leaves_no_folder_it_made_for_out(tmp_path, capsys):
    """review15 R1: since the fit runs inside the staged run (userO #5), a fit PPCA refuses
    (data of rank 2 at --latent-dim 2: no variance left for the noise) left the empty parents
    of --out it had made (new1/deep/); the staging folder alone was removed."""
    rng = np.random.default_rng(0)
    np.save(tmp_path / "rank2.npy", rng.normal(size=(300, 2)) @ rng.normal(size=(2, 6)))
    before = sorted(tmp_path.iterdir())
    out = tmp_path / "new1" / "deep" / "run"
    argv = ["fit", "ppca", "--data", str(tmp_path / "rank2.npy"), "--latent-dim", "2"]
    assert main([*argv, "--out", str(out)]) == 2
    assert capsys.readouterr().err.startswith("torchlvm: error: ")
    assert sorted(tmp_path.iterdir()) == before


def test_em_says_where_it_is_while_it_fits(tmp_path, capsys, monkeypatch):
    """userR #4: `fit ppca --method em` on 200,000 rows ran 15 minutes without a line, a slow fit
    not to be told from a hung one. EM logs its iteration every PROGRESS_EVERY seconds (10; 0
    here: every iteration), which fit shows on stderr; the library alone prints nothing."""
    from torchlvm.models import PPCA, ppca_em

    monkeypatch.setattr(ppca_em, "PROGRESS_EVERY", 0.0)
    argv = ["fit", "ppca", "--data", "digits", "--latent-dim", "3", "--method", "em"]
    assert main([*argv, "--max-iter", "2", "--out", str(tmp_path / "run")]) == 0
    lines = [s for s in capsys.readouterr().err.splitlines() if "EM iteration" in s]
    assert [s.split(":")[0] for s in lines] == ["torchlvm"] * 2
    assert re.fullmatch(
        r"torchlvm: EM iteration 1 \(at most 2\): mean log-likelihood -?\d+\.\d{4} nats, last "
        r"change [\d.e+-]+ nats \(it stops at a change of at most 1e-0\d\)",
        lines[0],
    ), lines[0]
    PPCA(latent_dim=3, method="em", max_iter=2).fit(load_dataset("digits", "train").x)
    assert "EM iteration" not in capsys.readouterr().err


def test_em_says_where_it_is_once_where_the_caller_logs_too(tmp_path, capsys, monkeypatch):
    """review15 (5b487c5): a program that set logging up (logging.basicConfig(level=INFO) on
    stderr) and called main() saw each EM line twice, fit's 'torchlvm: EM iteration ...' and its
    own handler's 'INFO:torchlvm.models.ppca_em:EM iteration ...': fit's handler left the line
    to go on to the root's. The root's handler is the caller's again after the command."""
    import logging
    import sys

    from torchlvm.models import ppca_em

    monkeypatch.setattr(ppca_em, "PROGRESS_EVERY", 0.0)
    root, handler = logging.getLogger(), logging.StreamHandler(sys.stderr)  # capsys's stderr
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        argv = ["fit", "ppca", "--data", "digits", "--latent-dim", "3", "--method", "em"]
        assert main([*argv, "--max-iter", "2", "--out", str(tmp_path / "run")]) == 0
        lines = [s for s in capsys.readouterr().err.splitlines() if "EM iteration" in s]
        assert [s.split(":")[0] for s in lines] == ["torchlvm"] * 2
        logging.getLogger("torchlvm.models.ppca_em").info("after the command")
        assert capsys.readouterr().err == "after the command\n"
    finally:
        root.removeHandler(handler)
        root.setLevel(level)

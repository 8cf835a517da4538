"""`torchlvm score` and `fit ppca` on a table: standardized and recorded, the EM report, per-row
scores that match the library's exact density in the file's units, ranks and thresholds."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch

import torchlvm
from torchlvm.cli import main
from torchlvm.data.table_schema import TableSchema


def _write(path: Path, x: np.ndarray, names: list[str], ids: bool = True) -> None:
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow((["id"] if ids else []) + names)
        for i, row in enumerate(x):
            cells = ["" if np.isnan(v) else repr(float(v)) for v in row]
            writer.writerow(([f"r{i}"] if ids else []) + cells)


@pytest.fixture(scope="module")
def table(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray]:
    folder = tmp_path_factory.mktemp("table")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 2)) @ rng.normal(size=(2, 5)) * [1, 10, 100, 0.1, 1] + [
        0,
        5,
        50,
        0,
        3,
    ]
    x = x + 0.05 * rng.normal(size=x.shape)
    x[rng.random(x.shape) < 0.15] = np.nan
    x[7] = [40.0, -30.0, 900.0, 2.0, -9.0]  # one planted outlier, complete
    _write(folder / "t.csv", x, ["a", "b", "c", "d", "e"])
    return folder / "t.csv", x


@pytest.fixture(scope="module")
def ppca_run(table, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "ppca"
    argv = ["fit", "ppca", "--data", str(table[0]), "--latent-dim", "2", "--method", "em"]
    assert main([*argv, "--allow-missing", "--drop-columns", "id", "--out", str(out)]) == 0
    return out


def test_fit_records_the_table_and_reports_em(ppca_run, capsys):
    record = json.loads((ppca_run / "config.json").read_text())["data"]
    schema = TableSchema.from_dict(record["table"])
    assert schema.columns == ("a", "b", "c", "d", "e") and schema.drop_columns == ("id",)
    assert schema.standardizer is not None and record["options"]["standardize"] is True
    em = json.loads((ppca_run / "metrics.json").read_text())["em"]
    assert em["covers"] == "observed cells only" and em["missing_cells"] > 0


def test_scores_are_the_exact_density_in_the_files_units(table, ppca_run, tmp_path, capsys):
    path, x = table
    out = tmp_path / "scores.csv"
    argv = ["score", str(ppca_run), "--data", str(path), "--out", str(out)]
    assert main([*argv, "--threshold", "20", "--top", "1"]) == 0
    printed = capsys.readouterr().out
    assert "rank 1: row 8 (line 9, id 'r7')," in printed
    # which way the score points was said in --help only
    assert "the higher, the less likely the row under the model: rank 1 is the most" in printed
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 200 and rows[7]["rank"] == "1" and rows[7]["outlier"] == "1"
    model = torchlvm.load(ppca_run)
    schema = TableSchema.from_dict(
        json.loads((ppca_run / "config.json").read_text())["data"]["table"]
    )
    z = schema.standardizer.transform(torch.tensor(x))
    expected = model.score_samples(z) + schema.standardizer.log_jacobian(~torch.isnan(z)).numpy()
    got = np.array([float(r["neg_log_p"]) for r in rows])
    np.testing.assert_allclose(-got, expected, rtol=1e-5, atol=1e-4)  # rows read as float32
    assert sorted(int(r["rank"]) for r in rows) == list(range(1, 201))


def test_a_file_with_other_columns_is_refused(table, ppca_run, tmp_path, capsys):
    path, x = table
    _write(tmp_path / "other.csv", x[:, :4], ["a", "b", "c", "f"])
    argv = ["score", str(ppca_run), "--data", str(tmp_path / "other.csv")]
    assert main([*argv, "--out", str(tmp_path / "s.csv")]) == 2
    assert "lacks columns 'd', 'e' that the run was trained on" in capsys.readouterr().err
    assert not (tmp_path / "s.csv").exists()


def test_encode_reads_every_row_of_a_file_and_writes_csv(table, ppca_run, tmp_path, capsys):
    path, _ = table
    out = tmp_path / "codes.csv"
    assert main(["encode", str(ppca_run), "--data", str(path), "--out", str(out)]) == 0
    rows = list(csv.reader(out.open()))
    assert rows[0] == ["row", "line", "id", "z1", "z2"] and len(rows) == 201  # userA #17
    assert rows[8][:3] == ["8", "9", "r7"]
    assert "shape (200, 2) (rows, latent dimensions)" in capsys.readouterr().out


def test_sample_writes_rows_in_the_files_units(table, ppca_run, tmp_path, capsys):
    path, x = table
    out = tmp_path / "s.csv"
    assert main(["sample", str(ppca_run), "--out", str(out), "--n", "2000", "--seed", "1"]) == 0
    rows = list(csv.reader(out.open()))
    assert rows[0] == ["a", "b", "c", "d", "e"] and len(rows) == 2001
    drawn = np.array(rows[1:], dtype=float)
    scale = np.nanstd(x, 0)
    assert (np.abs(drawn.mean(0) - np.nanmean(x, 0)) < 0.2 * scale).all()


def test_reconstruct_writes_every_row_of_a_file(tmp_path, capsys):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(60, 2)) @ rng.normal(size=(2, 4)) * [1, 10, 100, 1] + [0, 0, 50, 9]
    x += rng.normal(size=x.shape) * 1e-4  # exactly rank 2 would leave σ² = 0 at K = 2
    _write(tmp_path / "full.csv", x, ["a", "b", "c", "d"], ids=False)
    run = tmp_path / "ppca"
    argv = ["fit", "ppca", "--data", str(tmp_path / "full.csv"), "--latent-dim", "2"]
    assert main([*argv, "--out", str(run)]) == 0
    out = tmp_path / "rec.csv"
    argv = ["reconstruct", str(run), "--data", str(tmp_path / "full.csv"), "--out", str(out)]
    assert main(argv) == 0
    written = list(csv.reader(out.open()))
    assert written[0] == ["row", "line", "a", "b", "c", "d"]  # userA #16: which row is which
    assert [r[:2] for r in written[1:3]] == [["1", "2"], ["2", "3"]]
    rows = np.array([r[2:] for r in written[1:]], dtype=float)
    assert rows.shape == (60, 4)
    assert np.abs(rows - x).max() < 0.05 * np.abs(x).max()  # rank 2 data: nearly exact
    assert "RMSE per feature" in capsys.readouterr().out


def test_a_column_missing_from_every_row_is_scored_on_the_others(table, ppca_run, tmp_path, capsys):
    """Every row's log p(x_o) is defined on the cells it has; before, the empty column was
    refused with a fix (--drop-columns) that score does not take."""
    path, x = table
    part = x[:20].copy()
    part[:, 1] = np.nan
    _write(tmp_path / "no-b.csv", part, ["a", "b", "c", "d", "e"])
    out = tmp_path / "s.csv"
    assert (
        main(["score", str(ppca_run), "--data", str(tmp_path / "no-b.csv"), "--out", str(out)]) == 0
    )
    assert "20 rows with missing cells: scored on their observed cells" in capsys.readouterr().out
    schema = TableSchema.from_dict(
        json.loads((ppca_run / "config.json").read_text())["data"]["table"]
    )
    z = schema.standardizer.transform(torch.tensor(part))
    expected = torchlvm.load(ppca_run).score_samples(z)
    expected = expected + schema.standardizer.log_jacobian(~torch.isnan(z)).numpy()
    got = np.array([float(r["neg_log_p"]) for r in csv.DictReader(out.open())])
    np.testing.assert_allclose(-got, expected, rtol=1e-5, atol=1e-4)


def test_each_score_names_its_line_in_the_file(table, ppca_run, tmp_path, capsys):
    """The help promises a ``line`` column for a CSV: after the header and a blank line, row 8
    (the planted outlier) is line 10 of the file, which is where a spreadsheet shows it."""
    path, x = table
    text = path.read_text().splitlines(keepends=True)
    gapped = tmp_path / "gapped.csv"
    gapped.write_text("".join(text[:3]) + "\n" + "".join(text[3:]))
    out = tmp_path / "scores.csv"
    argv = ["score", str(ppca_run), "--data", str(gapped), "--out", str(out), "--top", "1"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "rank 1: row 8 (line 10, id 'r7')," in printed
    assert "wrote" in printed and "row, line, id, neg_log_p, stderr, observed, rank" in printed
    rows = list(csv.DictReader(out.open()))
    assert [r["line"] for r in rows[:3]] == ["2", "3", "5"] and rows[7]["line"] == "10"
    assert rows[7]["rank"] == "1"


def test_an_empty_row_is_written_with_empty_scores_and_the_file_is_parsed_once(
    table, ppca_run, tmp_path, capsys, monkeypatch
):
    """userA #73: one row with no value (',,,' in an export) refused the whole file, though
    impute fills it. The other rows are scored; the empty one is written, by its file line (a
    header and a blank line before it: line 5 holds row 3), with empty scores and ranks, and one
    line says so. The file is parsed once (before: for its header, its rows and its lines)."""
    from torchlvm.data import csv_table

    parsed = []
    rows_of = csv_table._rows
    monkeypatch.setattr(
        csv_table, "_rows", lambda path, *args: parsed.append(path) or rows_of(path, *args)
    )
    path = tmp_path / "gap.csv"
    path.write_text("id,a,b,c,d,e\nr0,1,2,3,4,5\n\nr1,1,2,50,,3\nr2,,,,,\nr3,0,5,50,0,3\n")
    out = tmp_path / "s.csv"
    argv = ["score", str(ppca_run), "--data", str(path), "--out", str(out), "--threshold", "0"]
    assert main([*argv, "--top", "9"]) == 0
    printed = capsys.readouterr().out
    assert "  1 row has no value in any column (line 5): written with empty scores" in printed
    assert "  3 of 3 scored rows above the threshold 0" in printed
    assert len(parsed) == 1
    rows = list(csv.DictReader(out.open()))
    assert [r["line"] for r in rows] == ["2", "4", "5", "6"]
    empty = rows[2]
    assert [empty[k] for k in ("neg_log_p", "stderr", "observed", "rank")] == ["", "", "0", ""]
    assert empty["rank_within_pattern"] == "" and empty["outlier"] == ""
    assert sorted(int(r["rank"]) for r in rows if r["rank"]) == [1, 2, 3]
    assert printed.count("  rank ") == 3 and "line 5" not in printed.split("scored rows")[1]
    alone = tmp_path / "alone.csv"  # the scores of the other rows are theirs without it
    alone.write_text("id,a,b,c,d,e\nr0,1,2,3,4,5\nr1,1,2,50,,3\nr3,0,5,50,0,3\n")
    argv = ["score", str(ppca_run), "--data", str(alone), "--out", str(tmp_path / "a.csv")]
    assert main(argv) == 0
    kept = [r["neg_log_p"] for r in csv.DictReader((tmp_path / "a.csv").open())]
    assert kept == [r["neg_log_p"] for r in rows if r["neg_log_p"]]


def test_an_autoencoder_is_refused_in_the_commands_words(table, tmp_path, capsys):
    """An autoencoder run reached the library's "a point mass has no density with respect to
    Lebesgue measure ... use its reconstruction_loss": refused up front, naming commands."""
    from torchlvm.models import Autoencoder, AutoencoderConfig

    ae = Autoencoder(AutoencoderConfig(input_dim=5, latent_dim=2, hidden=(8,)))
    data = {"name": "t.csv", "binarize": "none", "seed": 0,
            "table": TableSchema(("a", "b", "c", "d", "e")).to_dict()}  # fmt: skip
    ae.save_pretrained(tmp_path / "ae", data=data)
    out = tmp_path / "s.csv"
    assert main(["score", str(tmp_path / "ae"), "--data", str(table[0]), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "holds an autoencoder, which defines no p(x)" in err
    # (the run read the table as stored: the offered fit must too, not standardize it)
    assert "with 'torchlvm fit ppca --data t.csv --no-standardize --latent-dim 2" in err
    assert "Lebesgue" not in err
    assert not out.exists()


def test_a_dataset_by_name_is_scored_as_the_model_sees_it(tmp_path, capsys):
    """`score RUN --data digits` said "dataset 'digits' takes no option 'allow_missing'"; a table
    run said "unsupported extension ''". A dataset is scored whole under the run's protocol; a
    table run names the file it reads. A float32 model's scores carry float32's digits."""
    from torchlvm.models import VAE, VAEConfig

    torch.manual_seed(0)
    vae = VAE(VAEConfig(input_dim=64, latent_dim=2, hidden=(8,)))
    vae.save_pretrained(tmp_path / "vae", data={"name": "digits", "binarize": "dynamic", "seed": 0})
    out = tmp_path / "s.csv"
    argv = ["score", str(tmp_path / "vae"), "--data", "digits", "--samples", "4"]
    assert main([*argv, "--out", str(out)]) == 0
    assert "binarize=dynamic, one Bernoulli draw with seed 0" in capsys.readouterr().out
    rows = list(csv.reader(out.open()))
    header = ["row", "class", "neg_log_p", "stderr", "ess", "observed", "rank"]  # (#13, ESS)
    assert rows[0] == header and len(rows) == 1798
    assert all(str(np.float32(r[2])) == r[2] for r in rows[1:])
    table = TableSchema(("a", "b", "c", "d", "e")).to_dict()
    vae = VAE(VAEConfig(input_dim=5, latent_dim=2, hidden=(8,), likelihood="gaussian"))
    vae.save_pretrained(tmp_path / "tv", data={"name": "t.csv", "seed": 0, "table": table})
    argv = ["score", str(tmp_path / "tv"), "--data", "digits", "--out", str(tmp_path / "t.csv")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "was trained on the table t.csv; score reads a file with its columns (a, b, c" in err


def test_top_rows_print_one_minus_sign_the_unit_and_the_standard_error(
    table, ppca_run, tmp_path, capsys
):
    """--top printed '−log p(x) = -2.040' (the label's minus sign typographic, the value's a
    hyphen), no unit, and a VAE's score to 3 decimals without the standard error the CSV holds
    (with 4 samples: ± several nats). Each line now reads '−log p(x) = −2.040 nats', an
    importance-sampled score to the digit its standard error justifies, with that error."""
    from torchlvm.models import VAE, VAEConfig
    from torchlvm.report.metrics import format_measured

    rng = np.random.default_rng(1)  # values of 0.01 or so: densities far above 1, −log p < 0
    x = (rng.normal(size=(60, 2)) @ rng.normal(size=(2, 4)) + 0.1 * rng.normal(size=(60, 4))) / 100
    _write(tmp_path / "small.csv", x, ["a", "b", "c", "d"], ids=False)
    run = tmp_path / "small"
    argv = ["fit", "ppca", "--data", str(tmp_path / "small.csv"), "--latent-dim", "2"]
    assert main([*argv, "--out", str(run)]) == 0
    out = tmp_path / "scores.csv"
    argv = ["score", str(run), "--data", str(tmp_path / "small.csv"), "--out", str(out)]
    assert main([*argv, "--top", "60"]) == 0
    tops = [line for line in capsys.readouterr().out.splitlines() if "  rank " in line]
    rows = list(csv.DictReader(out.open()))
    assert max(float(r["neg_log_p"]) for r in rows) < 0
    for line, i in zip(tops, np.argsort([-float(r["neg_log_p"]) for r in rows]), strict=True):
        text = format_measured(float(rows[i]["neg_log_p"])).replace("-", "−")
        assert line.endswith(f", −log p(x) = {text} nats") and text.startswith("−"), line
    argv = ["score", str(ppca_run), "--data", str(table[0]), "--out", str(out), "--overwrite"]
    assert main([*argv, "--top", "200"]) == 0
    tops = [line for line in capsys.readouterr().out.splitlines() if "  rank " in line]
    rows = list(csv.DictReader(out.open()))
    i = next(i for i, r in enumerate(rows) if r["observed"] == "3")
    assert f"row {i + 1} (line {i + 2}, id 'r{i}'), −log p(x) = " in "".join(tops)
    top = next(t for t in tops if f"row {i + 1} " in t)
    assert " nats (on 3 of 5 cells), rank " in top
    size = rows[i]["pattern_rows"]
    assert top.endswith(f", rank {rows[i]['rank_within_pattern']} of {size} missing the same cells")
    # userG #12: a complete row's rank was 'of 156913 missing its cells': they miss none
    j = next(j for j, r in enumerate(rows) if r["observed"] == "5")
    top = next(t for t in tops if f"row {j + 1} " in t)
    assert top.endswith(f", rank {rows[j]['rank_within_pattern']} of {rows[j]['pattern_rows']} "
                        "complete rows")  # fmt: skip

    torch.manual_seed(0)
    vae = VAE(VAEConfig(input_dim=64, latent_dim=2, hidden=(8,)))
    vae.save_pretrained(tmp_path / "vae", data={"name": "digits", "binarize": "dynamic", "seed": 0})
    argv = ["score", str(tmp_path / "vae"), "--data", "digits", "--samples", "4", "--top", "1"]
    argv += ["--overwrite"]
    assert main([*argv, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "(importance-sampled with 4 samples, ± its standard error)" in printed
    best = min(csv.DictReader(out.open()), key=lambda r: int(r["rank"]))
    value, err = float(best["neg_log_p"]), float(best["stderr"])
    assert err > 0
    assert f"−log p(x) = {format_measured(value, err)} nats\n" in printed


def test_many_rows_are_scored_with_an_expected_time_and_the_draws_of_one_call(tmp_path, capsys):
    """`score RUN --data mnist` on a VAE ran for hours (70,000 images x 1,000 samples) without a
    word; `evaluate` prints its expected time first. The rows are scored a batch at a time, the
    first batch's time giving the expected time of the rest, with the draws of one call."""
    from torchlvm.data import load_dataset
    from torchlvm.inference.row_scores import ROWS, score_rows
    from torchlvm.models import VAE, VAEConfig

    torch.manual_seed(0)
    vae = VAE(VAEConfig(input_dim=64, latent_dim=2, hidden=(8,), likelihood="gaussian"))
    vae.save_pretrained(tmp_path / "vae", data={"name": "digits", "binarize": "none", "seed": 0})
    out = tmp_path / "s.csv"
    argv = ["score", str(tmp_path / "vae"), "--data", "digits", "--samples", "3", "--seed", "5"]
    assert main([*argv, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    rest = 1797 - 2 * ROWS
    assert "expected time of the importance sampling: " in printed
    assert f" more for {rest:,} rows (3 samples each; the second {ROWS} rows took " in printed
    torch.manual_seed(5)
    whole = score_rows(vae, load_dataset("digits", "all").x, samples=3)
    written = [float(r["neg_log_p"]) for r in csv.DictReader(out.open())]
    np.testing.assert_allclose(written, whole.neg_log_p, rtol=1e-6)


def test_a_binarizing_run_scores_a_files_images_as_it_sees_them(tmp_path, capsys):
    """score fed a binarizing run (binarize=dynamic) a file's grey levels, whose Bernoulli
    log-probability is a cross-entropy, not log p of anything, and printed it as a density;
    the same images by dataset name, and encode of the file, were drawn as the model sees
    them (userB: 270.23 against 273.28 nats). A file's images now take the run's draw: the
    same scores as the dataset by name, row for row."""
    from torchlvm.data import load_dataset

    images = load_dataset("digits", "all").x.reshape(-1, 8, 8).numpy()  # every row, in order
    np.save(tmp_path / "digits.npy", images)
    run = tmp_path / "vae"
    argv = ["train", "vae", "--data", "digits", "--epochs", "1", "--latent-dim", "2"]
    assert main([*argv, "--hidden", "16", "--quiet", "--out", str(run)]) == 0
    scored = {}
    for name, data in (("file", str(tmp_path / "digits.npy")), ("name", "digits")):
        out = tmp_path / f"{name}.csv"
        assert main(["score", str(run), "--data", data, "--samples", "20", "--out", str(out)]) == 0
        with out.open() as f:
            scored[name] = [float(row["neg_log_p"]) for row in csv.DictReader(f)]
    assert "as the model sees it (binarize=dynamic, one Bernoulli draw" in capsys.readouterr().out
    np.testing.assert_allclose(scored["file"], scored["name"], rtol=1e-6)


def test_rows_missing_unlike_cells_are_ranked_among_rows_missing_the_same(tmp_path, capsys):
    """userA / review7 #3: −log p(x_o) of a row with holes is a density over other columns, so
    its size says which cells were seen. Ranking among rows with as many observed cells (the
    fix before) still mixed rows missing a column of spread 100 with rows missing one of spread
    0.01: in the file's units the first are ~9 nats less outlying for that alone. A row far off
    on its observed cells, missing the wide column, was ranked below every ordinary row missing
    the narrow one; among rows missing the same cells it is first."""
    rng = np.random.default_rng(3)
    n = 400
    z = rng.normal(size=(n, 1))
    x = np.hstack([z + 0.3 * rng.normal(size=(n, 1)) for _ in range(3)]) * [100.0, 1.0, 0.01]
    x[:100, 0] = np.nan  # 100 rows miss the wide column
    x[100:200, 2] = np.nan  # 100 rows miss the narrow one
    x[5, 1:] = [0.8, -0.0085]  # off: its two observed cells disagree by ~4 sd of their gap
    _write(tmp_path / "v.csv", x, ["wide", "mid", "narrow"])
    run = tmp_path / "ppca"
    argv = ["fit", "ppca", "--data", str(tmp_path / "v.csv"), "--latent-dim", "1", "--method"]
    assert main([*argv, "em", "--allow-missing", "--drop-columns", "id", "--out", str(run)]) == 0
    out = tmp_path / "s.csv"
    argv = ["score", str(run), "--data", str(tmp_path / "v.csv"), "--out", str(out), "--top", "1"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "`rank_within_pattern` ranks each row among the rows missing the same cells (3 " in (
        printed
    )
    rows = list(csv.DictReader(out.open()))
    assert list(rows[0])[:3] == ["row", "line", "id"] and rows[5]["id"] == "r5"
    assert list(rows[0])[-3:] == ["rank", "rank_within_pattern", "pattern_rows"]
    assert rows[5]["rank_within_pattern"] == "1"  # review9: a rank 1 says of how many rows
    assert [rows[k]["pattern_rows"] for k in (5, 150, 250)] == ["100", "100", str(len(rows) - 200)]
    narrow_missing = [float(r["neg_log_p"]) for r in rows[100:200]]
    assert sum(v > float(rows[5]["neg_log_p"]) for v in narrow_missing) > 50  # what `rank` mixes
    for group in (rows[:100], rows[100:200], rows[200:]):
        by_score = sorted(group, key=lambda r: -float(r["neg_log_p"]))
        assert [int(r["rank_within_pattern"]) for r in by_score] == list(range(1, len(group) + 1))


@pytest.mark.parametrize("empty", ["dir", "out"])
def test_an_empty_path_is_refused_as_empty(ppca_run, table, tmp_path, capsys, empty):
    """`score "$RUN" --out "$OUT"` with a variable unset read '.' as the run, or wrote to it."""
    run, out = ("" if empty == "dir" else str(ppca_run)), ("" if empty == "out" else "s.csv")
    with pytest.raises(SystemExit) as exited:
        main(["score", run, "--data", str(table[0]), "--out", out])
    assert exited.value.code == 2
    assert "the path is empty (an unset shell variable?)" in capsys.readouterr().err


def test_a_data_file_that_does_not_exist_is_named_as_missing(ppca_run, tmp_path, capsys):
    """userC: score of a --data that does not exist said 'No such file or directory ... check the
    path, its permissions and the free disk space' (the failed-write wording): the run carries
    an id, read before the reader's own check. It now says the file does not exist."""
    out = tmp_path / "s.csv"
    argv = ["score", str(ppca_run), "--data", str(tmp_path / "nope.csv"), "--out", str(out)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "nope.csv does not exist; check the path" in err
    assert "disk space" not in err and not out.exists()


def test_scores_are_written_gzipped_to_a_gz_name(table, ppca_run, tmp_path, capsys):
    """userC: `score --out s.csv.gz` was refused ('must name a .csv file') though .csv.gz is read
    everywhere and impute writes one: written gzipped, the same rows as the plain file."""
    import gzip

    plain, packed = tmp_path / "s.csv", tmp_path / "s.csv.gz"
    for out in (plain, packed):
        assert main(["score", str(ppca_run), "--data", str(table[0]), "--out", str(out)]) == 0
    assert gzip.decompress(packed.read_bytes()) == plain.read_bytes()
    bare = tmp_path / "s.gz"
    assert main(["score", str(ppca_run), "--data", str(table[0]), "--out", str(bare)]) == 2
    assert "--out must name a .csv, .tsv, .csv.gz or .tsv.gz file" in capsys.readouterr().err
    assert not bare.exists()


def test_a_column_of_the_files_own_is_carried_beside_the_scores(table, ppca_run, tmp_path, recwarn):
    """userG #5: a later file's own ID column ('case', which the run never had) was said not
    read ("column 'case' is none of the run's columns ... read them") and left out of the
    scores file, where the run's dropped 'id' is carried: every column the model does not read
    is carried, and the line says 'it' of one column."""
    path, x = table
    rows = list(csv.reader(path.open()))
    later = tmp_path / "later.csv"
    with later.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["case", *rows[0]])
        writer.writerows([f"c{i}", *row] for i, row in enumerate(rows[1:6]))
    out = tmp_path / "scores.csv"
    assert main(["score", str(ppca_run), "--data", str(later), "--out", str(out)]) == 0
    written = list(csv.DictReader(out.open()))
    assert [r["case"] for r in written] == ["c0", "c1", "c2", "c3", "c4"]
    assert [r["id"] for r in written] == ["r0", "r1", "r2", "r3", "r4"]
    said = [str(w.message) for w in recwarn if "of the run's columns" in str(w.message)]
    assert said == [
        f"{later}: column 'case' is not one of the run's columns, so the model does not read it"
    ]


@pytest.mark.parametrize(
    "argv",
    [["score", "RUN", "--data", "x.csv", "--threshold", "nan"],
     ["evaluate", "RUN", "--refine", "2", "--refine-lr", "nan"]],
    ids=["score-threshold", "evaluate-refine-lr"],
)  # fmt: skip
def test_a_number_option_refuses_nan(argv, tmp_path, capsys):
    """score --threshold nan was taken and wrote an outlier column of zeros (no row is above
    NaN; userJ #16); evaluate --refine-lr nan likewise went through: both are refused by the
    parser, naming the option."""
    with pytest.raises(SystemExit) as exit_:
        main([a.replace("RUN", str(tmp_path)) for a in argv])
    assert exit_.value.code == 2
    flag = argv[-2]
    assert capsys.readouterr().err.splitlines()[0] == (
        f"torchlvm: error: argument {flag}: must be a finite number, got nan"
    )


def test_one_sample_writes_no_standard_error_and_says_why(tmp_path, capsys):
    """userK #2: `score --samples 1` wrote stderr 'inf' in every row (one draw has no sample
    variance) and said '1 samples': the cell is left empty and the line says why."""
    from torchlvm.models import VAE, VAEConfig

    torch.manual_seed(0)
    vae = VAE(VAEConfig(input_dim=3, latent_dim=1, hidden=(4,), likelihood="gaussian"))
    run = vae.save_pretrained(tmp_path / "vae", data={"name": "t.npy", "condition": "none"})
    np.save(tmp_path / "t.npy", np.random.default_rng(0).normal(size=(20, 3)))
    argv = ["score", str(run), "--data", str(tmp_path / "t.npy"), "--out", str(tmp_path / "s.csv")]
    assert main([*argv, "--samples", "1"]) == 0
    said = capsys.readouterr().out
    assert (
        "(importance-sampled with 1 sample; one sample gives no standard error: --samples 2 or "
        "more does)" in said
    )
    rows = list(csv.DictReader((tmp_path / "s.csv").open()))
    assert {r["stderr"] for r in rows} == {""} and all(float(r["neg_log_p"]) for r in rows)


def test_an_image_runs_scores_are_said_of_images_and_another_size_is_named_with_its_resize(
    tmp_path, capsys
):
    """userM #2: score on a run of 28×28 images said "x16.npy has 256 values per row ... pass a
    file with the run's columns" of 16×16 images, and "scored 500 rows", "nats per row"."""
    from torchlvm.models import VAE, VAEConfig

    vae = VAE(VAEConfig(input_dim=64, latent_dim=2, hidden=(8,)))
    data = {"name": "digits", "binarize": "none", "seed": 0, "shape": [1, 8, 8]}
    run = vae.save_pretrained(tmp_path / "vae", data=data)
    np.save(tmp_path / "x16.npy", np.zeros((5, 16, 16), np.uint8))
    np.save(tmp_path / "x8.npy", np.zeros((5, 8, 8), np.uint8))
    argv = ["score", str(run), "--samples", "2", "--out"]
    assert main([*argv, str(tmp_path / "s.csv"), "--data", str(tmp_path / "x16.npy")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(
        f"torchlvm: error: {tmp_path / 'x16.npy'} holds 16×16 images (256 values each) but the "
        f"model in {run} takes 8×8 images (64 values each); make them 8×8 (python: "
    )
    # readA #3: colour images and rows were told the PIL resize, which cannot make them the run's
    np.save(tmp_path / "c16.npy", np.random.default_rng(0).random((5, 3, 16, 16)))
    assert main([*argv, str(tmp_path / "s.csv"), "--data", str(tmp_path / "c16.npy")]) == 2
    line = capsys.readouterr().err.split("(python: ", 1)[1].rsplit(") and pass that file", 1)[0]
    exec(line, {})  # the offered line runs, and its file is scored
    made = next(p for p in tmp_path.iterdir() if p.name.startswith("c16-8x8"))
    assert main([*argv, str(tmp_path / "s2.csv"), "--data", str(made)]) == 0
    capsys.readouterr()
    np.save(tmp_path / "r10.npy", np.zeros((5, 10), np.float32))
    assert main([*argv, str(tmp_path / "s3.csv"), "--data", str(tmp_path / "r10.npy")]) == 2
    assert "has 10 values per example, in rows, but the model in" in capsys.readouterr().err
    assert main([*argv, str(tmp_path / "s.csv"), "--data", str(tmp_path / "x8.npy")]) == 0
    out = capsys.readouterr().out
    assert f"scored 5 images of {tmp_path / 'x8.npy'}" in out and "nats per image (" in out


def test_each_estimate_writes_its_ess_and_rows_on_a_few_weights_are_said(tmp_path, capsys):
    """userM #20: score of an image run wrote rows with an ESS of 1-2 of 1,000 samples, each
    '± 0.85' where seeds moved it 5 nats, without a word, while evaluate says so of its mean.
    Each row's ESS is written (the library's, for the same draws), and the rows under 10
    effective draws (the rule evaluate and impute warn by: a count, not a share of --samples,
    readB #10) are counted in one line; an exact score has no ess column."""
    from torchlvm.cli.score import _few_effective
    from torchlvm.inference.row_scores import RowScores, score_rows
    from torchlvm.models import VAE, VAEConfig

    torch.manual_seed(0)
    vae = VAE(VAEConfig(input_dim=3, latent_dim=1, hidden=(4,), likelihood="gaussian"))
    run = vae.save_pretrained(tmp_path / "vae", data={"name": "t.npy", "condition": "none"})
    x = np.random.default_rng(0).normal(size=(20, 3)).astype(np.float32)
    np.save(tmp_path / "t.npy", x)
    argv = ["score", str(run), "--data", str(tmp_path / "t.npy"), "--out", str(tmp_path / "s.csv")]
    assert main([*argv, "--samples", "40", "--seed", "2"]) == 0
    rows = list(csv.DictReader((tmp_path / "s.csv").open()))
    torch.manual_seed(2)
    library = score_rows(vae, torch.from_numpy(x), samples=40)
    written = np.array([float(r["ess"]) for r in rows])  # (one decimal, rounded down)
    assert np.all((written <= library.ess + 1e-6) & (library.ess - written < 0.1 + 1e-6))
    ess = np.array([1.3, 1.0, 9.9, 10.0, 50.0, np.nan])  # (the last row not scored)
    scores = RowScores(np.array([1.0] * 5 + [np.nan]), np.ones(6), np.ones(6), False, 3, ess)
    said = (
        "  3 of 5 images have an effective sample size (ess) under 10 of their {} samples: a "
        "few weights carry their −log p(x), which may sit nats too high, and their ± "
        "understates its error; more --samples tell how far"
    )
    assert _few_effective(scores, 1000, "image", "") == said.format("1,000")
    assert _few_effective(scores, 100, "image", "") == said.format(100)  # the same rows
    assert "2 of 5 images have an effective sample size (ess) under 4 (half) of their 8" in (
        _few_effective(scores, 8, "image", "")
    )
    assert _few_effective(RowScores(*[np.ones(2)] * 3, False, 3, np.ones(2)), 1, "row", "") is None
    exact = RowScores(np.ones(2), np.zeros(2), np.ones(2), True, 3)
    assert _few_effective(exact, 1000, "row", "") is None


def test_an_ess_just_under_the_rule_is_written_under_it():
    """userN #5 nit: '37 rows have an ess under 10' where the file showed 36: 9.96 was written
    '10.0'. Written to one decimal rounded down, a row counted under 10 reads under 10."""
    from torchlvm.cli._score_write import _ess_text

    assert [_ess_text(v) for v in (9.96, 10.0, 1.04, 123.45)] == ["9.9", "10.0", "1.0", "123.4"]


def test_a_split_of_a_dataset_by_name_is_scored_as_the_run_split_it(table, tmp_path, capsys):
    """userU #5: score had no --split, so held-out −log p(x) (per class, by the class column)
    was out of reach: --data digits scored all 1,797 rows, 70% of them trained on."""
    from torchlvm.data import load_dataset
    from torchlvm.inference.row_scores import score_rows
    from torchlvm.models import VAE, VAEConfig

    torch.manual_seed(0)
    vae = VAE(VAEConfig(input_dim=64, latent_dim=2, hidden=(8,), likelihood="gaussian"))
    vae.save_pretrained(tmp_path / "vae", data={"name": "digits", "binarize": "none", "seed": 3})
    out = tmp_path / "s.csv"
    argv = ["score", str(tmp_path / "vae"), "--data", "digits", "--samples", "3", "--seed", "5"]
    assert main([*argv, "--split", "test", "--out", str(out)]) == 0
    test = load_dataset("digits", "test", seed=3)
    assert f"scored {len(test):,} rows of the test split of digits" in capsys.readouterr().out
    rows = list(csv.DictReader(out.open()))
    assert [r["class"] for r in rows] == [str(k) for k in test.y.tolist()]
    torch.manual_seed(5)
    want = score_rows(vae, test.x, samples=3).neg_log_p
    np.testing.assert_allclose([float(r["neg_log_p"]) for r in rows], want, rtol=1e-6)
    path, _ = table
    argv = ["score", str(tmp_path / "vae"), "--data", str(path), "--split", "test"]
    assert main([*argv, "--out", str(tmp_path / "f.csv")]) == 2
    err = capsys.readouterr().err
    assert "--split test reads a split of a dataset given by name" in err
    assert "pass the rows to score as a file" in err


def test_a_split_of_a_table_runs_own_file_is_scored_as_the_run_split_it(
    table, ppca_run, tmp_path, capsys
):
    """review16 R11: `score RUN --data ITS_OWN.csv --split test` was refused, and the way round
    offered was encode's row ids and a pandas step. It scores the rows the run split off as
    test, each with its row, line and id as encode writes them, and the scores of the whole
    file's read; a split of another file is refused, naming the run's own."""
    path, _ = table
    whole, part, ids = tmp_path / "whole.csv", tmp_path / "part.csv", tmp_path / "ids.csv"
    assert main(["score", str(ppca_run), "--data", str(path), "--out", str(whole)]) == 0
    argv = ["score", str(ppca_run), "--data", str(path), "--split", "test", "--top", "1"]
    assert main([*argv, "--out", str(part)]) == 0
    printed = capsys.readouterr().out
    assert main(["encode", str(ppca_run), "--split", "test", "--out", str(ids)]) == 0
    want = [r[:3] for r in csv.reader(ids.open())]
    rows = list(csv.DictReader(part.open()))
    assert want[0] == ["row", "line", "id"] and len(want) - 1 == len(rows) == 20
    assert [[r["row"], r["line"], r["id"]] for r in rows] == want[1:]
    every = {r["line"]: r["neg_log_p"] for r in csv.DictReader(whole.open())}
    assert [r["neg_log_p"] for r in rows] == [every[r["line"]] for r in rows]
    assert f"scored 20 rows of the test split of {path}" in printed
    first = min(rows, key=lambda r: int(r["rank"]))
    assert f"rank 1: row {first['row']} (line {first['line']}, id '{first['id']}')" in printed
    other = tmp_path / "other.csv"  # (its rows in another order: a copy is the run's, readI I1)
    header, *lines = path.read_text().splitlines()
    other.write_text("\n".join([header, *reversed(lines)]) + "\n")
    argv = ["score", str(ppca_run), "--data", str(other), "--split", "test"]
    assert main([*argv, "--out", str(tmp_path / "f.csv")]) == 2
    err = capsys.readouterr().err
    assert f"reads the test split of the run's own file ({path})" in err
    assert f"{other} is not that file: leave out --split" in err

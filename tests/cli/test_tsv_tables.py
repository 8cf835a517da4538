"""userA #74: a run trained on a .tsv refused `sample --out s.tsv` ('must name a .csv') and wrote
its CSVs with commas, while `impute` of the same run keeps .tsv and tabs. Every file of rows a
command writes takes the run's own suffix by default, a .tsv is written with tabs and a .csv
with commas, whichever the run was trained on, and the rows read back."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from torchlvm.cli import main


@pytest.fixture(scope="module")
def tsv_run(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("tsv")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 2)) @ rng.normal(size=(2, 4)) + 0.1 * rng.normal(size=(60, 4))
    data = folder / "t.tsv"
    rows = "".join(f"c{i}\t" + "\t".join(f"{v:.3f}" for v in r) + "\n" for i, r in enumerate(x))
    data.write_text("id\ta\tb\tc\td\n" + rows)
    run = folder / "ppca"
    argv = ["fit", "ppca", "--data", str(data), "--drop-columns", "id", "--latent-dim", "2"]
    assert main([*argv, "--out", str(run)]) == 0
    return run, data


def _cells(path: Path, delimiter: str) -> list[list[str]]:
    with path.open(newline="") as f:
        return list(csv.reader(f, delimiter=delimiter))


@pytest.mark.parametrize(
    ("command", "header"),
    [
        (["sample", "{run}", "--n", "5"], ["a", "b", "c", "d"]),
        (["reconstruct", "{run}", "--data", "{data}"], None),
        (["encode", "{run}", "--data", "{data}"], ["z1", "z2"]),
        (["score", "{run}", "--data", "{data}"], None),
    ],
    ids=["sample", "reconstruct", "encode", "score"],
)
@pytest.mark.parametrize("suffix", [".tsv", ".csv"])
def test_a_tsv_runs_rows_are_written_with_the_suffixs_separator(
    tsv_run, tmp_path, capsys, command, header, suffix
):
    run, data = tsv_run
    out = tmp_path / f"out{suffix}"
    argv = [w.format(run=run, data=data) for w in command]
    assert main([*argv, "--out", str(out)]) == 0, capsys.readouterr().err
    delimiter = "\t" if suffix == ".tsv" else ","
    cells = _cells(out, delimiter)
    assert len({len(row) for row in cells}) == 1 and len(cells[0]) > 1  # one width, split
    if header is not None:
        assert cells[0][: len(header)] == header or cells[0][-len(header) :] == header
    assert ("\t" in out.read_text()) == (suffix == ".tsv")


def test_sample_of_a_tsv_run_is_a_tsv_by_default_and_reads_back(tsv_run, tmp_path, capsys):
    run, _ = tsv_run
    assert main(["sample", str(run), "--n", "4", "--seed", "1"]) == 0
    written = run / "samples.tsv"
    assert f"wrote {written}" in capsys.readouterr().out
    assert _cells(written, "\t")[0] == ["a", "b", "c", "d"]
    out = tmp_path / "s.csv"
    assert main(["score", str(run), "--data", str(written), "--out", str(out)]) == 0
    assert len(_cells(out, ",")) == 5
    assert main(["sample", str(run), "--out", str(tmp_path / "s.txt")]) == 2
    assert "--out must name a .tsv, .csv, .tsv.gz or .csv.gz file, got " in capsys.readouterr().err


@pytest.mark.parametrize(
    ("command", "name"),
    [
        (["sample", "--n", "3"], "s.tsv.gz"),
        (["encode"], "e.csv.gz"),
        (["reconstruct"], "r.tsv.gz"),
        (["score", "--data", "DATA"], "x.csv.gz"),
    ],
)
def test_every_file_of_rows_may_be_written_gzipped(tsv_run, tmp_path, capsys, command, name):
    """review9: score took --out x.csv.gz (92219b7) while sample, encode, reconstruct and
    transfer refused it ('must name a .csv file'): one rule, rows_file, for all of them; the
    file is gzip, its cells separated as its name says."""
    import gzip

    run, data = tsv_run
    argv = [command[0], str(run), *(str(data) if a == "DATA" else a for a in command[1:])]
    assert main([*argv, "--out", str(tmp_path / name)]) == 0
    with gzip.open(tmp_path / name, "rt") as f:
        header = f.readline()
    assert ("\t" in header) == name.endswith(".tsv.gz") and header.strip()

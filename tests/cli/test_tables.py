"""A command on a table run given the table in a format torchlvm does not read (a .parquet or
.json of it) is told the pandas line that saves it as CSV, whichever command reads it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from torchlvm.cli import main


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("tables")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 2)) @ rng.normal(size=(2, 3)) + 0.1 * rng.normal(size=(40, 3))
    data = folder / "t.csv"
    data.write_text("a,b,c\n" + "".join(",".join(map(repr, row)) + "\n" for row in x.tolist()))
    assert (
        main(["fit", "ppca", "--data", str(data), "--latent-dim", "1", "--out", str(folder / "r")])
        == 0
    )
    return folder / "r"


@pytest.mark.parametrize(
    "command",
    [
        ["impute", "--out", "{o}/f.csv"],  # read the JSON as a CSV: 'holds no data rows'
        ["score", "--out", "{o}/s.csv"],
        ["encode", "--out", "{o}/z.csv"],  # 'not on the dataset 't.json''
        ["evaluate"],  # '--data t.json is not a file'
    ],
    ids=lambda command: command[0],
)
def test_a_table_in_another_format_is_told_the_pandas_line(run, tmp_path, capsys, command):
    data = tmp_path / "t.json"
    data.write_text('{"a": {"0": 1.0}, "b": {"0": 2.0}, "c": {"0": 3.0}}')
    argv = [command[0], str(run), "--data", str(data)]
    argv += [c.format(o=tmp_path) for c in command[1:]]
    assert main(argv) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and f"pandas.read_json('{data}').to_csv(" in error
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.json"]

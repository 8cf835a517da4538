"""The one line impute and sample of a table print for values outside their column's trained
range (review15 R9)."""

import json
import re

import numpy as np
import pandas as pd

from torchlvm import cli

LINE = re.compile(
    r"  ([\d,]+) of ([\d,]+) (drawn|filled) values lie outside the range their column took in "
    r"the training data \(the model's p\(x \| z\) is not bounded\): (.+)"
)


def _line(out: str) -> re.Match:
    said = [m for x in out.splitlines() if (m := LINE.fullmatch(x))]
    assert len(said) == 1, out
    return said[0]


def _outside(values: np.ndarray, ranges: list[list[float]]) -> int:
    low, high = (np.array(side) for side in ranges)
    return int(np.nansum((values < low) | (values > high)))


def test_impute_and_sample_of_one_run_count_and_say_outside_values_by_one_rule(tmp_path, capsys):
    """review15 R9: impute compared its fills with the recorded column range, unrounded, and
    said 'lie outside the range their column took in the training data'; sample read the train
    split again, compared values as written, and said 'fall outside the range their column has
    in the train split (count: 8 below 0)'. Both now count the cells as their file holds them
    against the run's column_range, in one wording; a run made before the record says the same
    line, its train split's range read again by the same function."""
    rng = np.random.default_rng(4)
    a = rng.integers(0, 11, size=300)
    b = 2 * a + rng.normal(0, 1, size=300)
    path = tmp_path / "t.csv"
    pd.DataFrame({"a": a, "b": b.round(2)}).to_csv(path, index=False)
    run = tmp_path / "run"
    argv = ["fit", "ppca", "--data", str(path), "--latent-dim", "1", "--out", str(run)]
    assert cli.main(argv) == 0
    holes = pd.DataFrame({"a": [np.nan, np.nan, 5.0], "b": [40.0, -20.0, np.nan]})
    holes.to_csv(tmp_path / "holes.csv", index=False)
    ranges = json.loads((run / "config.json").read_text())["data"]["column_range"]
    said = []
    for k in range(2):  # with the record, then as a run made before it
        drawn, filled = tmp_path / f"s{k}.csv", tmp_path / f"f{k}.csv"
        capsys.readouterr()
        argv = ["sample", str(run), "--n", "2000", "--seed", "1", "--out", str(drawn)]
        assert cli.main(argv) == 0
        sample = _line(capsys.readouterr().out)
        argv = ["impute", str(run), "--data", str(tmp_path / "holes.csv"), "--out", str(filled)]
        assert cli.main(argv) == 0
        impute = _line(capsys.readouterr().out)
        assert sample[3] == "drawn" and impute[3] == "filled"
        rows = pd.read_csv(drawn).to_numpy()  # (as written)
        assert int(sample[1].replace(",", "")) == _outside(rows, ranges) > 0
        assert sample[2] == "4,000"
        fills = pd.read_csv(filled).to_numpy()
        fills[~holes.isna().to_numpy()] = np.nan
        assert int(impute[1]) == _outside(fills, ranges) > 0 and impute[2] == "3"
        said.append((sample[0], impute[0]))
        config = json.loads((run / "config.json").read_text())
        if k == 0:
            config["data"].pop("column_range")
            (run / "config.json").write_text(json.dumps(config))
    assert said[1] == said[0]
    for line in said[0]:  # each column named as impute names it: quoted, with its ranges
        assert re.search(r"'a' \d+ \(-?[\d.]+ to [\d.]+; trained 0 to 10\)", line), line

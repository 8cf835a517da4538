"""``torchlvm impute RUN --data FILE.npy --out FILLED.npy``: an array's NaN cells filled."""

from __future__ import annotations

import re
import shlex

import numpy as np
import pytest
from safetensors.numpy import load_file

from torchlvm.cli import main


def _ppca_mean(run, x: np.ndarray) -> np.ndarray:
    """Each row of ``x`` ``(N, D)`` with its NaN cells at E[x_m | x_o] = μ_m + C_mo C_oo⁻¹
    (x_o − μ_o), C = W Wᵀ + σ² I, from the run's saved parameters (NumPy, not torchlvm)."""
    params = load_file(run / "model.safetensors")
    w, mu, sigma2 = params["W"], params["mu"], float(params["sigma2"])
    cov = w @ w.T + sigma2 * np.eye(len(mu))
    out = x.copy()
    for row in out:
        m = np.isnan(row)
        if m.any():
            o = ~m
            row[m] = mu[m] + cov[np.ix_(m, o)] @ np.linalg.solve(cov[np.ix_(o, o)], row[o] - mu[o])
    return out


@pytest.mark.parametrize("shape", [(200, 6), (200, 3, 2, 1)], ids=["rows", "channels-last"])
def test_an_arrays_nan_cells_are_filled_as_the_run_offered(tmp_path, capsys, shape):
    """userJ #9: the NaN refusal offered 'fit ppca ... then impute RUN --data X.npy --out
    filled.csv', and impute read the .npy as CSV text (an encoding error), or asked for an
    image --mask with --out .npy: no command filled an array. The offered commands run; the
    filled array has the file's shape and dtype, every other value as stored, and PPCA's exact
    conditional mean in each NaN cell."""
    rng = np.random.default_rng(2)
    x = rng.normal(size=(200, 2)) @ rng.normal(size=(2, 6)) + 0.3 * rng.normal(size=(200, 6))
    x[rng.random(x.shape) < 0.1] = np.nan
    path = tmp_path / "rows.npy"
    np.save(path, x.reshape(shape))
    assert (
        main(["train", "vae", "--data", str(path), "--epochs", "1", "--out", str(tmp_path / "v")])
        == 2
    )
    offered = re.search(r"fill them in first \((torchlvm fit .*), then (torchlvm impute .*)\)", (
        capsys.readouterr().err))  # fmt: skip
    assert offered is not None and offered[2].endswith("--out filled.npy")
    run = tmp_path / "ppca"
    fit = shlex.split(offered[1].replace("RUN", str(run)))[1:]
    assert main([*fit, "--latent-dim", "2"]) == 0
    out = tmp_path / "filled.npy"
    impute = shlex.split(offered[2].replace("RUN", str(run)).replace("filled.npy", str(out)))
    assert main(impute[1:]) == 0
    printed = capsys.readouterr().out
    assert f"filled {int(np.isnan(x).sum())} missing (NaN) cells" in printed
    filled = np.load(out)
    assert filled.shape == shape and filled.dtype == np.float64
    rows = filled.reshape(200, 6)
    observed = ~np.isnan(x)
    np.testing.assert_array_equal(rows[observed], x[observed])
    np.testing.assert_allclose(rows, _ppca_mean(run, x), rtol=1e-9, atol=1e-9)


def test_an_image_files_mask_is_still_the_image_imputation(tmp_path, capsys):
    """An .npy given with --mask is images to hide a part of, as before; without NaN cells and
    without --mask an .npy is not taken for an array to fill."""
    x = np.random.default_rng(0).random((20, 4, 4))
    path = tmp_path / "img.npy"
    np.save(path, x)
    argv = ["fit", "ppca", "--data", str(path), "--latent-dim", "2", "--out", str(tmp_path / "p")]
    assert main(argv) == 0
    capsys.readouterr()
    out = tmp_path / "top.png"
    argv = ["impute", str(tmp_path / "p"), "--data", str(path), "--mask", "top", "--out", str(out)]
    assert main(argv) == 0 and out.exists()


def test_an_array_without_nan_is_told_there_is_nothing_to_fill(tmp_path, capsys):
    """An .npy of rows with no NaN given to a run fitted on rows was told 'pass --mask KIND, the
    part that is missing: top, bottom, ...', image masks that mean nothing for rows (review12
    #2): it is told there is nothing to fill, --mask named for images."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(100, 2)) @ rng.normal(size=(2, 5)) + 0.3 * rng.normal(size=(100, 5))
    np.save(tmp_path / "rows.npy", x)
    run = tmp_path / "ppca"
    argv = ["fit", "ppca", "--data", str(tmp_path / "rows.npy"), "--latent-dim", "2"]
    assert main([*argv, "--out", str(run)]) == 0
    capsys.readouterr()
    argv = [
        "impute",
        str(run),
        "--data",
        str(tmp_path / "rows.npy"),
        "--out",
        str(tmp_path / "f.npy"),
    ]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert (
        err.count("\n") == 1 and "rows.npy holds no missing (NaN) value, so there is nothing" in err
    )
    assert not (tmp_path / "f.npy").exists()


def test_one_filled_cell_is_one_cell(tmp_path, capsys):
    """'filled 1 missing (NaN) cells' (table13's note)."""
    x = np.random.default_rng(0).normal(size=(100, 4))
    np.save(tmp_path / "rows.npy", x)
    run = tmp_path / "ppca"
    fit = ["fit", "ppca", "--data", str(tmp_path / "rows.npy"), "--latent-dim", "2"]
    assert main([*fit, "--out", str(run)]) == 0
    x[3, 1] = np.nan
    np.save(tmp_path / "one.npy", x[: 1 + 3])
    out = str(tmp_path / "f.npy")
    assert main(["impute", str(run), "--data", str(tmp_path / "one.npy"), "--out", out]) == 0
    assert "filled 1 missing (NaN) cell in 1 of 4 rows of " in capsys.readouterr().out


def test_an_archives_nan_cells_are_refused_with_the_npy_to_save(tmp_path, capsys, monkeypatch):
    """An .npz with NaN cells was asked for an image --mask, or to fill its cells in first, and
    neither said how (review13 #9): the line saves its array as an .npy, which impute fills."""
    monkeypatch.chdir(tmp_path)
    x = np.random.default_rng(0).normal(size=(100, 4))
    np.save("rows.npy", x)
    assert main(["fit", "ppca", "--data", "rows.npy", "--latent-dim", "2", "--out", "r"]) == 0
    x[3, 1] = np.nan
    np.savez("holes.npz", x=x)
    assert main(["impute", "r", "--data", "holes.npz", "--out", "f.npy"]) == 2
    err = capsys.readouterr().err
    offered = "np.save('holes-data.npy', np.load('holes.npz')['x'])"
    assert err == (
        "torchlvm: error: holes.npz holds NaN cells in its 'x' array; impute fills those of an "
        f".npy or a table, not of an archive: {offered}, then torchlvm impute r --data "
        "holes-data.npy --out filled.npy\n"
    )
    np.save("holes-data.npy", np.load("holes.npz")["x"])  # (the line, run)
    assert main(["impute", "r", "--data", "holes-data.npy", "--out", "filled.npy"]) == 0
    assert not np.isnan(np.load("filled.npy")).any()
    # a holes-data.npy is there now: the line names a new file (review13 #27)
    assert main(["impute", "r", "--data", "holes.npz", "--out", "f.npy"]) == 2
    assert "np.save('holes-data-2.npy', np.load('holes.npz')['x'])" in capsys.readouterr().err


def test_image_fills_outside_the_trained_range_are_counted(tmp_path, capsys):
    """review13 #20b: PPCA filled pixels of a [0, 1] image file with values below 0 and said
    nothing, while sample counts its draws outside [0, 1]. The line counts exactly the filled
    cells of the written array outside [0, 1], and no observed pixel."""
    rng = np.random.default_rng(5)
    images = (rng.random((300, 6, 6)) < 0.3) * rng.random((300, 6, 6))  # mostly 0, in [0, 1)
    images[:, 0, :] = 1.0
    holes = rng.random(images.shape) < 0.2
    images[holes] = np.nan
    path = tmp_path / "im.npy"
    np.save(path, images)
    run = tmp_path / "ppca"
    fit = ["fit", "ppca", "--data", str(path), "--allow-missing", "--method", "em"]
    assert main([*fit, "--latent-dim", "3", "--out", str(run)]) == 0
    out = tmp_path / "filled.npy"
    assert main(["impute", str(run), "--data", str(path), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    fills = np.load(out)[holes]
    outside = int(((fills < 0) | (fills > 1)).sum())
    assert outside > 0
    assert f"{outside:,} of {holes.sum():,} filled values lie outside the [0, 1]" in printed
    clipped = tmp_path / "filled-clipped.npy"
    line = f"np.save('{clipped}', np.clip(np.load('{out}'), 0, 1))"
    assert line in printed
    exec(line, {"np": np})  # the line runs as printed
    assert np.array_equal(np.load(clipped), np.clip(np.load(out), 0, 1))

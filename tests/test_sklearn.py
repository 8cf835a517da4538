"""Every torchlvm estimator with pandas DataFrames, as scikit-learn's own checks test its
transformers (``check_set_output_transform*``, ``check_transformer_get_feature_names_out*`` and
``check_dataframe_column_names_consistency``, which ``parametrize_with_checks`` does not run):
``feature_names_in_`` from a frame's columns, ``set_output(transform="pandas")``,
``get_feature_names_out``, and columns other than fit's refused in one line that names the fix.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.utils import estimator_checks

from torchlvm import PPCA
from torchlvm.errors import DataError
from torchlvm.estimators import CVAEEstimator, VAEEstimator

FAST = {"epochs": 1, "hidden": (4,), "batch_size": 32, "k": 8, "random_state": 0}
ESTIMATORS = [
    PPCA(latent_dim=1),
    PPCA(latent_dim=1, method="em", dtype="float32"),
    VAEEstimator(**FAST),
    VAEEstimator(**FAST, objective="miwae", train_k=2),
    CVAEEstimator(**FAST),
]
IDS = ["ppca", "ppca-em", "vae", "vae-miwae", "cvae"]
CHECKS = [
    "check_set_output_transform",
    "check_set_output_transform_pandas",
    "check_global_output_transform_pandas",
    "check_transformer_get_feature_names_out",
    "check_transformer_get_feature_names_out_pandas",
]


@pytest.mark.parametrize("check", CHECKS)
@pytest.mark.parametrize("estimator", ESTIMATORS, ids=IDS)
def test_sklearn_dataframe_checks(estimator, check):
    getattr(estimator_checks, check)(type(estimator).__name__, estimator)


def frame(n: int = 90, d: int = 5) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(0)
    y = np.arange(n) % 3
    X = rng.normal(size=(n, d)) + y[:, None]
    return pd.DataFrame(X, columns=[f"col_{i}" for i in range(d)]), y


def methods(est):
    """The methods of ``est`` that read X, as check_dataframe_column_names_consistency lists."""
    names = ("predict", "transform", "predict_proba", "score", "score_samples")
    return [getattr(est, name) for name in names if hasattr(est, name)]


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=IDS)
def test_column_names_are_kept_and_other_columns_refused_in_one_line(estimator):
    """scikit-learn's check_dataframe_column_names_consistency, but for its wording: it wants
    scikit-learn's several lines, and torchlvm's errors are one line, with the fix appended."""
    X, y = frame()
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message="X does not have valid feature names")
        est = clone(estimator).fit(X, y)
        for method in methods(est):
            method(X)
    assert est.feature_names_in_.dtype == object
    assert est.feature_names_in_.tolist() == list(X.columns)
    reordered = X[X.columns[::-1]]
    renamed = X.set_axis([f"other_{i}" for i in range(X.shape[1])], axis=1)
    for bad, why in [
        (reordered, "Feature names must be in the same order as they were in fit"),
        (renamed, "Feature names unseen at fit time: - other_0 - other_1"),
        (X.iloc[:, :3], "Feature names seen at fit time, yet now missing: - col_3 - col_4"),
    ]:
        for method in methods(est):
            with pytest.raises(DataError, match=r"should match") as error:
                method(bad)
            message = str(error.value)
            assert "\n" not in message and why in message
            assert message.endswith(
                "pass the columns fit saw, in its order: X[estimator.feature_names_in_]"
            )
    np.testing.assert_array_equal(est.transform(reordered[est.feature_names_in_]), est.transform(X))


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=IDS)
def test_a_series_is_told_to_frame_which_it_has(estimator):
    """One column of a frame, df["col_0"], or one row, df.iloc[0], was told X.reshape(...),
    which a Series lacks."""
    X, y = frame()
    with pytest.raises(DataError, match=r"got shape \(90,\); .* X\.to_frame\(\) for one feature"):
        clone(estimator).fit(X["col_0"], y)
    est = clone(estimator).fit(X, y)
    with pytest.raises(DataError, match=r"got shape \(5,\); .* X\.to_frame\(\)\.T for one sample"):
        est.transform(X.iloc[0])
    np.testing.assert_allclose(est.transform(X.iloc[0].to_frame().T), est.transform(X[:1]))


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=IDS)
def test_a_frame_s_text_and_date_columns_are_named_with_the_readme_s_fixes(estimator):
    """``PPCA().fit(frame)`` said "could not convert string to float: 'oslo'", naming no column,
    and recommended OneHotEncoder, which the README advises against (a Gaussian per feature
    models 0/1 columns as continuous values): every text and date column is named, with fixes
    that work."""
    from torchlvm.errors import DataTypeError

    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(40, 3)), columns=["a", "b", "c"])
    X["city"] = rng.choice(["oslo", "rome"], len(X))
    X["when"] = pd.Timestamp("2020-01-01")
    X["counts"] = pd.Series(range(40), dtype=object)  # numbers in an object column: numbers
    y = np.arange(40) % 2
    with pytest.raises(DataTypeError) as err:  # (a ValueError and a TypeError, as sklearn's)
        clone(estimator).fit(X, y)
    message = str(err.value)
    assert message.startswith("X holds text ('city') and dates ('when'), and the models take")
    assert "drop them (X.drop(columns=['city', 'when']))" in message
    assert "CVAEEstimator(...).fit(X.drop(columns=['city', 'when']), X['city'])" in message
    assert "OneHotEncoder" not in message and "'counts'" not in message
    with pytest.raises(DataTypeError, match=r"^X holds dates \('when'\).* or turn dates into"):
        clone(estimator).fit(X[["a", "when"]], y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (one epoch: a collapsed VAE warns)
        CVAEEstimator(**FAST).fit(X.drop(columns=["city", "when"]), X["city"])  # the fix works


def test_a_column_of_numbers_with_a_few_markers_is_named_with_its_cells_and_the_fix_that_keeps_it(
    tmp_path,
):
    """userT #9: a column of numbers read from a UCI-style file with '?' in 3 of 442 rows was
    called text, with the fixes of a text column (drop it, or make its 160 values a CVAE's
    classes). Its cells are named with their rows, and the conversion that makes them missing
    values, which PPCA's EM fits around, is offered."""
    from sklearn.datasets import load_diabetes

    from torchlvm.errors import DataTypeError

    frame = load_diabetes(as_frame=True).data.round(4)
    frame.loc[[3, 50, 100], "bmi"] = np.nan
    frame.to_csv(tmp_path / "d.csv", index=False, na_rep="?")
    X = pd.read_csv(tmp_path / "d.csv", keep_default_na=False)  # '?' and '' as text
    with pytest.raises(DataTypeError) as err:
        PPCA(latent_dim=2, method="em").fit(X)
    assert str(err.value) == (
        "X['bmi'] holds numbers but also '?' (rows labelled 3, 50, 100): make those cells "
        "missing values, which PPCA(method='em') and VAEEstimator(objective='miwae') fit "
        "around (X['bmi'] = pd.to_numeric(X['bmi'], errors='coerce')), or correct them"
    )
    X["bmi"] = pd.to_numeric(X["bmi"], errors="coerce")  # the fix it names fits
    assert np.isfinite(PPCA(latent_dim=2, method="em").fit(X).score(X))
    X["sex"] = X["sex"].astype(object)
    X.loc[[1, 2, 4, 5], "sex"] = "n/a"
    X["bmi"] = X["bmi"].astype(object).where(X["bmi"].notna(), "?")
    with pytest.raises(
        DataTypeError,
        match=r"^X\['sex'\] holds numbers but also 'n/a' \(rows "
        r"labelled 1, 2, 4 and 1 more\); X\['bmi'\] .*, and so for each\)",
    ):
        PPCA(latent_dim=2, method="em").fit(X)  # fmt: skip


def test_a_frame_read_from_a_csv_has_its_dates_named_and_only_categories_offered_as_classes(
    tmp_path,
):
    """userP #6: read from a CSV, a frame holds dates as strings: 'harvest' (one date per row)
    was called text and offered as 40 CVAE classes. The CLI's date test (csv_cells.column_kind)
    names them dates; a text column with a value per row (a name) is no category."""
    from torchlvm.errors import DataTypeError

    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(40, 3)), columns=["a", "b", "c"])
    frame["harvest"] = pd.date_range("2020-01-01", periods=40).strftime("%Y-%m-%d")
    frame["cellar"] = rng.choice(["north", "south", "east"], 40)
    frame["name"] = [f"wine {i}" for i in range(40)]
    frame.to_csv(tmp_path / "w.csv", index=False)
    X = pd.read_csv(tmp_path / "w.csv")
    with pytest.raises(DataTypeError) as err:
        PPCA(latent_dim=1).fit(X)
    assert str(err.value).startswith(
        "X holds text ('cellar', 'name') and dates ('harvest'), and the models take numbers only; "
        "drop them (X.drop(columns=['cellar', 'name', 'harvest'])), turn dates into numbers "
        "(e.g. pd.to_datetime(X['harvest']).dt.year), or make a category the classes of a "
        "CVAEEstimator: CVAEEstimator(...).fit(X.drop(columns=['cellar', 'name', 'harvest']), "
        "X['cellar'])"
    )
    with pytest.raises(DataTypeError) as err:
        PPCA(latent_dim=1).fit(X[["a", "b", "name"]])
    assert str(err.value).endswith("numbers only; drop it (X.drop(columns=['name']))")
    years = X.drop(columns=["cellar", "name"]).assign(harvest=pd.to_datetime(X["harvest"]).dt.year)
    PPCA(latent_dim=1).fit(years)  # the fix it names fits


def test_the_estimators_need_no_pandas(monkeypatch):
    """pandas is no dependency (the dev extra's, for these tests), but every check of X imported
    it to ask whether X was a DataFrame: PPCA(latent_dim=2).fit(numpy) raised
    ModuleNotFoundError where pandas is not installed (review11)."""
    import sys

    monkeypatch.setitem(sys.modules, "pandas", None)  # `import pandas` now fails
    X = np.random.default_rng(0).normal(size=(40, 5))
    assert PPCA(latent_dim=2).fit(X).transform(X).shape == (40, 2)
    vae = VAEEstimator(latent_dim=2, hidden=(4,), epochs=1, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (one epoch: a collapsed fit warns)
        assert vae.fit(X).transform(X).shape == (40, 2)


def test_a_cut_list_of_missing_columns_keeps_its_ellipsis():
    """scikit-learn lists five missing names, then '- ...'; the final-period strip ate the
    ellipsis, and the cut list read as whole: '... - od280/od315_of_diluted_wines - ;' (userL
    #10)."""
    X = pd.DataFrame(np.random.default_rng(0).normal(size=(40, 8)), columns=list("abcdefgh"))
    est = PPCA(latent_dim=1).fit(X)
    with pytest.raises(DataError, match=r"yet now missing: - b - c - d - e - f - \.\.\.; pass "):
        est.score(X.iloc[:, :1])


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=IDS)
def test_complex_x_is_one_line_without_the_array(estimator):
    """scikit-learn's 'Complex data not supported' carries the array's repr (631 characters of
    a 5000 x 60 X in the one line), and no fix (userL #18)."""
    X, y = frame()
    with pytest.raises(DataError) as error:
        clone(estimator).fit(X.to_numpy().astype(complex), y)
    assert str(error.value) == (  # (led by scikit-learn's words, which its checks look for)
        "Complex data not supported: X holds complex numbers, and the models take real ones; "
        "pass X.real if its imaginary parts are 0"
    )


@pytest.mark.parametrize(
    ("dates", "call"),
    [
        (["13.01.2020", "01.02.2020"], "pd.to_datetime(X['d'], dayfirst=True).dt.year"),
        (["13/01/2020", "01/02/2020"], "pd.to_datetime(X['d'], dayfirst=True).dt.year"),
        (["01/13/2020", "02/01/2020"], "pd.to_datetime(X['d']).dt.year"),
        (["2020-01-13", "2020-02-01"], "pd.to_datetime(X['d']).dt.year"),
    ],
    ids=["dots", "day-above-12", "month-first", "iso"],
)
def test_the_offered_date_reading_follows_the_files_day_order(dates, call):
    """review14 R23: pd.to_datetime reads an ambiguous '01.02.2020' month first; a European
    export's dates are offered with dayfirst=True where the strings show it."""
    from torchlvm.errors import DataTypeError

    X = pd.DataFrame({"a": [0.0, 1.0] * 10, "b": [1.0, 3.0] * 10, "d": dates * 10})
    with pytest.raises(DataTypeError) as err:
        PPCA(latent_dim=1).fit(X)
    assert str(err.value).endswith(f"turn dates into numbers (e.g. {call})")


def test_a_text_column_with_a_stray_number_is_text_and_stray_cells_are_listed_briefly():
    """review16 R9: a column of 200 names with one '42' was refused as numbers with 199 stray
    cells, every name listed (2,327 characters), and their coercion to NaN offered; a column of
    numbers with many distinct stray cells listed each of them."""
    from torchlvm.errors import DataTypeError

    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(200, 3)), columns=["a", "b", "c"])
    frame["name"] = [f"person {i}" for i in range(199)] + ["42"]
    with pytest.raises(DataTypeError, match=r"^X holds text \('name'\)") as err:
        PPCA(latent_dim=2).fit(frame)
    assert len(str(err.value)) < 300
    frame = frame.drop(columns="name").astype(object)
    frame.loc[[0, 1, 2, 3, 4], "a"] = ["?", "n/a", "-", "none", "x"]
    with pytest.raises(DataTypeError) as err:
        PPCA(latent_dim=2, method="em").fit(frame)
    assert str(err.value).startswith(
        "X['a'] holds numbers but also '?', 'n/a', '-' and 2 other values (rows labelled 0, 1, "
        "2 and 2 more): "
    )


def test_inf_is_refused_in_its_own_words_under_assume_finite():
    """userT #14: with sklearn.set_config(assume_finite=True) scikit-learn skips its finite
    check, and an inf cell got three wrong reasons (a covariance that overflows, no variance in
    any feature, values too large for float32) or, to a fitted PPCA, NaN results in silence."""
    import sklearn

    from torchlvm.errors import DataError
    from torchlvm.estimators import VAEEstimator

    X = np.random.default_rng(0).normal(size=(50, 4))
    fitted = PPCA(latent_dim=2).fit(X)
    bad = X.copy()
    bad[3, 2] = np.inf
    with sklearn.config_context(assume_finite=True):
        fits = [PPCA(latent_dim=2).fit, PPCA(latent_dim=2, method="em").fit]
        for call in [*fits, VAEEstimator(epochs=1).fit, fitted.transform, fitted.score_samples]:
            with pytest.raises(DataError, match="X contains infinity"):
                call(bad)
        with pytest.raises(DataError, match="Z contains infinity"):
            fitted.inverse_transform(np.array([[np.inf, 0.0]]))

"""Likelihood metrics against known answers: importance sampling on PPCA agrees with the exact
log p(x) within its standard error; the IWAE bound grows with k on a trained VAE and stays below
the estimate; the missing-part likelihood equals PPCA's exact marginal of the missing dims."""

import math

import pytest
import torch
from torch.distributions import MultivariateNormal

from torchlvm.data import load_dataset, make_linear_gaussian
from torchlvm.evaluation.likelihood import (
    grouped_bound,
    per_example_likelihood,
    summarize_likelihood,
)
from torchlvm.evaluation.missing_part import missing_part_likelihood
from torchlvm.inference import elbo
from torchlvm.models.ppca import PPCA
from torchlvm.models.vae import VAE, VAEConfig


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small models on a shared machine: threads only contend
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def ppca():
    data = make_linear_gaussian(n=600, dim=10, latent_dim=3, noise_variance=0.3, seed=2)
    return PPCA(latent_dim=3).fit(data.x[:500]), data.x[500:540].double()


@pytest.fixture(scope="module")
def trained_vae():
    torch.manual_seed(0)
    train = load_dataset("digits", "train", binarize="dynamic")
    model = VAE(VAEConfig(input_dim=64, latent_dim=8, hidden=(64,)))
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    generator = torch.Generator().manual_seed(0)
    for _ in range(600):
        xb = torch.bernoulli(train.x[torch.randint(len(train), (128,), generator=generator)])
        loss = -elbo(model, xb).elbo.mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    test = load_dataset("digits", "test", binarize="dynamic")
    return model.eval(), test.fixed_binarized(0)[:120]


def test_importance_sampling_with_exact_posterior_is_exact(ppca):
    model, x = ppca
    values = per_example_likelihood(
        model, x, k=50, ks=(1,), posterior=lambda xb, cb: model.encode(xb)
    )
    # q is the exact posterior, so every weight equals p(x): zero variance, ESS = k
    torch.testing.assert_close(values["is_mean"], values["exact"], rtol=0, atol=1e-8)
    torch.testing.assert_close(values["is_ess"], torch.full_like(values["is_ess"], 50.0))


def test_an_exact_log_p_under_its_own_posterior_is_not_importance_sampled(ppca, monkeypatch):
    """That estimate is the closed form again, k samples per example: most of a PPCA's evaluate
    (review11 #4). Its own q draws only the bounds' samples, each bound log p(x) itself; another
    q (--refine) still gets the estimate, a check of that q."""
    from torchlvm.evaluation import likelihood

    model, x = ppca
    drawn = []
    sampled = likelihood.log_marginal_is
    monkeypatch.setattr(
        likelihood,
        "log_marginal_is",
        lambda *a, **kw: drawn.append(kw["num_samples"]) or sampled(*a, **kw),
    )
    values = per_example_likelihood(model, x, k=1000, ks=(1, 10, 100))
    assert sorted(drawn) == [1, 10, 100] and "is_mean" not in values
    for k in (1, 10, 100):
        torch.testing.assert_close(values[f"iwae_{k}"], values["exact"], rtol=0, atol=1e-8)
    s = summarize_likelihood(values, dim=x.shape[1], k=1000, ks=(1, 10, 100))
    assert "log_marginal" not in s and "one draw of 10 samples" in s["iwae"]["10"]["nats"]["note"]
    drawn.clear()
    values = per_example_likelihood(model, x, k=1000, ks=(1, 10), posterior=_broadened(model))
    assert drawn == [1000] and "is_mean" in values


def test_importance_sampling_matches_exact_within_its_standard_error(ppca):
    model, x = ppca
    torch.manual_seed(0)

    def broadened(xb, cb):  # a deliberately imperfect proposal: twice the posterior covariance
        q = model.encode(xb)
        return MultivariateNormal(q.mean, covariance_matrix=2.0 * q.covariance_matrix)

    values = per_example_likelihood(model, x, k=2000, ks=(1,), posterior=broadened)
    error = values["is_mean"] - values["exact"]
    assert (values["is_stderr"] > 0).all()
    assert (error.abs() <= 4 * values["is_stderr"]).all()
    summary = summarize_likelihood(values, dim=x.shape[1], k=2000, ks=(1,))
    mean_error = summary["log_marginal"]["nats"]["value"] - summary["exact"]["nats"]["value"]
    assert abs(mean_error) <= 4 * summary["log_marginal"]["nats"]["stderr"]
    assert summary["exact"]["nats"]["kind"] == "exact"
    assert summary["log_marginal"]["nats"]["kind"] == "estimate"


def test_iwae_bound_increases_with_k_on_a_trained_vae(trained_vae):
    model, x = trained_vae
    torch.manual_seed(1)
    values = per_example_likelihood(model, x, k=1000, ks=(1, 10, 100))
    s = summarize_likelihood(values, dim=64, k=1000, ks=(1, 10, 100))
    bounds = [s["iwae"][k]["nats"]["value"] for k in ("1", "10", "100")]
    estimate = s["log_marginal"]["nats"]["value"]
    assert bounds[0] < bounds[1] < bounds[2] < estimate + 3 * s["log_marginal"]["nats"]["stderr"]
    assert s["elbo"]["nats"]["value"] < bounds[2]
    assert s["iwae"]["100"]["nats"]["kind"] == "bound" and s["iwae"]["100"]["nats"]["k"] == 100
    bits = s["log_marginal"]["bits_per_dim"]["value"]
    assert bits == pytest.approx(-estimate / (64 * math.log(2)))


def test_grouped_bound_is_the_mean_of_disjoint_groups_with_their_standard_error():
    log_w = torch.tensor([[0.0], [2.0], [1.0], [1.0], [5.0]])  # S = 5, k = 2: groups 2, last left
    mean, stderr = grouped_bound(log_w, 2)
    first = math.log((1 + math.exp(2)) / 2)
    second = 1.0
    assert mean.item() == pytest.approx((first + second) / 2)
    assert stderr.item() == pytest.approx(abs(first - second) / 2)  # sd of two / sqrt(2)
    with pytest.raises(ValueError, match="at least 2k = 6 weights"):
        grouped_bound(log_w, 3)


def _broadened(model):
    def q(xb, cb):  # a deliberately imperfect proposal: twice the posterior covariance
        post = model.encode(xb)
        return MultivariateNormal(post.mean, covariance_matrix=2.0 * post.covariance_matrix)

    return q


def test_l1_from_the_estimate_samples_is_the_exact_elbo_within_its_standard_error(ppca):
    """E[L_1] is the ELBO, which PPCA gives in closed form for any Gaussian q: the bound cut from
    the estimate's samples agrees with it within its Monte Carlo standard error, which is the
    honest size of its error (the z-scores over 30 seeds have a standard deviation near 1)."""
    model, x = ppca
    z_scores = []
    for seed in range(30):
        torch.manual_seed(seed)
        values = per_example_likelihood(model, x, k=200, ks=(1, 10), posterior=_broadened(model))
        s = summarize_likelihood(values, dim=x.shape[1], k=200, ks=(1, 10))
        l1, elbo_exact = s["iwae"]["1"]["nats"], s["elbo"]["nats"]["value"]
        assert l1["stderr"] > 0
        z_scores.append((l1["value"] - elbo_exact) / l1["stderr"])
        assert s["iwae"]["10"]["nats"]["stderr"] > 0
        assert "200 importance samples" in s["iwae"]["10"]["nats"]["note"]
    z = torch.tensor(z_scores, dtype=torch.float64)
    assert z.abs().max() < 4.5
    assert 0.6 < float(z.std()) < 1.5, z


def test_a_bound_above_half_of_k_gets_a_draw_of_its_own(ppca):
    model, x = ppca
    torch.manual_seed(0)
    values = per_example_likelihood(model, x, k=100, ks=(1, 60), posterior=_broadened(model))
    s = summarize_likelihood(values, dim=x.shape[1], k=100, ks=(1, 60))
    assert "one draw of 60 samples" in s["iwae"]["60"]["nats"]["note"]
    assert "100 disjoint groups of 1" in s["iwae"]["1"]["nats"]["note"]
    assert s["iwae"]["60"]["nats"]["stderr"] > 0


def test_the_elbo_carries_an_honest_monte_carlo_error(trained_vae):
    """The ELBO was one draw of z per example with no error, so a small set's ELBO could sit
    above its own L_1 (the same quantity in expectation) without a word. Against L_1 cut from
    the estimate's samples, the z-scores over 30 seeds have a standard deviation near 1."""
    model, x = trained_vae
    z_scores = []
    for seed in range(30):
        torch.manual_seed(seed)
        values = per_example_likelihood(model, x[:40], k=100, ks=(1,))
        s = summarize_likelihood(values, dim=64, k=100, ks=(1,))
        bound, l1 = s["elbo"]["nats"], s["iwae"]["1"]["nats"]
        z_scores.append((bound["value"] - l1["value"]) / math.hypot(bound["stderr"], l1["stderr"]))
    z = torch.tensor(z_scores, dtype=torch.float64)
    assert z.abs().max() < 4.5
    assert 0.6 < float(z.std()) < 1.5, z
    assert "from 100 draws of z per example" in s["elbo"]["nats"]["note"]
    assert s["elbo"]["nats"]["draws"] == 100 and "k" not in s["elbo"]["nats"]  # (k: the IWAE k)


def test_the_elbo_draws_min_k_100_z_and_says_so(trained_vae):
    """userI #7: the ELBO's E_q log p(x|z) took two draws of z per example, its Monte Carlo
    error 36 times L_1's (the same quantity in expectation, cut from k = 500 samples) and its
    record labelled "k = 1". It takes min(k, 100) draws: its error falls as 1/√draws (7 times
    below two draws'), and the record names the draws."""
    model, x = trained_vae

    def summary(k: int) -> dict:
        torch.manual_seed(0)
        values = per_example_likelihood(model, x, k=k, ks=(1,))
        return summarize_likelihood(values, dim=64, k=k, ks=(1,))["elbo"]["nats"]

    many, two = summary(500), summary(2)
    assert (many["draws"], two["draws"], summary(7)["draws"]) == (100, 2, 6)
    assert 1 / 12 < many["stderr"] / two["stderr"] < 1 / 4  # √(2/100) = 1/7.1


def test_an_exact_elbo_has_no_monte_carlo_error(ppca):
    model, x = ppca
    s = summarize_likelihood(per_example_likelihood(model, x, k=20, ks=(1,)), dim=10, k=20, ks=(1,))
    assert "stderr" not in s["elbo"]["nats"] and s["elbo"]["nats"]["data_stderr"] > 0


@pytest.mark.parametrize("inflate", [1.0, 2.0], ids=["exact-proposal", "broadened-proposal"])
def test_missing_part_likelihood_is_the_exact_marginal_of_the_missing_dims(ppca, inflate):
    model, x = ppca
    missing = torch.zeros(x.shape[1], dtype=torch.bool)
    missing[:4] = True
    only_missing = x.clone()
    only_missing[:, ~missing] = float("nan")  # PPCA marginalizes NaN entries out exactly
    exact = float(model.log_marginal(only_missing).mean())

    def proposal(xb, cb):  # p(z | x_m), exact for PPCA; broadened to give the weights variance
        q = model.encode(torch.where(missing, xb, float("nan")))
        return MultivariateNormal(q.mean, covariance_matrix=inflate * q.covariance_matrix)

    torch.manual_seed(0)
    out = missing_part_likelihood(model, x, None, missing, k=1000, posterior=proposal)
    assert out["nats"]["value"] == pytest.approx(exact, abs=4 * out["nats"]["stderr"] + 1e-8)
    assert out["bits_per_dim"]["missing_dims"] == 4
    assert "not a negative ELBO" in out["nats"]["note"]


@pytest.mark.parametrize("table", [False, True], ids=["images", "table"])
def test_the_notes_say_their_standard_errors_in_words_not_field_names(table):
    """The report showed the note 'stderr is the Monte Carlo error of the mean, data_stderr the
    spread over examples / sqrt(n)': a reader sees 'standard error over examples', not a key."""
    n = 5
    values = {
        "elbo": torch.arange(n, dtype=torch.float64),
        "iwae_1": torch.zeros(n),
        **{f"{name}_mean": torch.arange(n) + 0.5 for name in ("is", "ais")},
        **{f"{name}_stderr": torch.full((n,), 0.1) for name in ("is", "ais")},
        **{f"{name}_ess": torch.full((n,), 9.0) for name in ("is", "ais")},
    }
    s = summarize_likelihood(values, dim=4, k=10, ks=(1,), ais_steps=5, ais_k=2, table=table)
    rows = "rows" if table else "examples"
    for key in ("log_marginal", "ais"):
        note = s[key]["nats"]["note"]
        assert "stderr" not in note and "sqrt" not in note, note
        assert "its standard error is the Monte Carlo error of the mean" in note
        assert f"its standard error over {rows}" in note


def test_an_estimate_carried_by_a_few_weights_says_so_in_its_note(trained_vae):
    """userC: 'log p(x) −298.998 (k=1000, ±0.179, ESS 5.0)' where k = 10,000 gave −297.864
    and AIS −295.960: the ± was the weights' noise, not the error, and nothing said so. Below
    10 effective samples (the rule score and impute warn by too) the record's note says it and
    names what tells how far."""
    from torchlvm.evaluation.likelihood import few_effective_note
    from torchlvm.inference.ess import FEW_EFFECTIVE

    model, x = trained_vae
    torch.manual_seed(1)
    values = per_example_likelihood(model, x, k=100, ks=(1,))
    fine = summarize_likelihood(values, dim=64, k=100, ks=(1,))["log_marginal"]["nats"]
    assert fine["ess"] >= FEW_EFFECTIVE and "ESS" not in fine["note"]
    values["is_ess"] = torch.full_like(values["is_ess"], 3.0)  # 3 of 100 effective
    few = summarize_likelihood(values, dim=64, k=100, ks=(1,))["log_marginal"]["nats"]
    assert few["note"].endswith(
        ". Its mean ESS is 3.0 of k = 100 (under 10): a few weights carry it, its standard "
        "error understates its error, and it may sit nats below the true value (a lower bound "
        "in expectation); more samples (--k), --refine, or AIS (--ais) tell how far"
    )
    assert few_effective_note(10.0, 100) == ""  # at 10: no caveat
    assert few_effective_note(9.9, 100000) != ""  # a count, not a share of k (readB #10)


@pytest.mark.parametrize(
    "ais_shift, said",
    [(8.3, "AIS is the better one"), (0.0, None), (-8.3, "the importance-sampled estimate is")],
    ids=["ais-far-above", "agree", "is-far-above"],
)
def test_ais_and_importance_sampling_far_apart_say_which_is_better(trained_vae, ais_shift, said):
    """userD: IS −334.095 ± 0.140 and AIS −325.799 ± 0.077 were printed a line apart with no
    word that they disagree by 60 of their ±: AIS's note says how far apart they are and that
    the larger lower bound is the better one."""
    from torchlvm.evaluation.likelihood import apart

    model, x = trained_vae
    torch.manual_seed(1)
    values = per_example_likelihood(model, x, k=50, ks=(1,))
    values["ais_mean"] = values["is_mean"] + ais_shift
    values["ais_stderr"] = values["is_stderr"]
    values["ais_ess"] = values["is_ess"]
    s = summarize_likelihood(values, dim=64, k=50, ks=(1,), ais_steps=10, ais_k=4)
    note = s["ais"]["nats"]["note"]
    if said is None:
        assert "differs from" not in note
    else:
        assert (
            f". It differs from the importance-sampled estimate by {abs(ais_shift):.3g} nats, "
            in (note)
        )
        assert said in note and note.endswith("the ± measure neither one's bias")
    assert apart(-334.095, 0.140, -325.799, 0.077).startswith(
        ". It differs from the importance-sampled estimate by 8.3 nats, 52 times their joint "
    )


def test_an_exact_log_p_records_how_it_varies_over_the_examples():
    """An evaluated PPCA's exact log p(x) had no data_stderr where its IS estimate had one: the
    spread over examples of the same values, their standard deviation / √n."""
    x = load_dataset("digits", "train").x.double()
    model = PPCA(latent_dim=3).fit(x[:500])
    values = per_example_likelihood(model, x[500:530], k=4, ks=(1,))
    exact = summarize_likelihood(values, dim=64, k=4, ks=(1,))["exact"]["nats"]
    per_example = model.log_marginal(x[500:530])
    assert exact["data_stderr"] == pytest.approx(float(per_example.std() / 30**0.5), rel=1e-9)

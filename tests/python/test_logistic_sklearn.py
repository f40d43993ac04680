"""beckon.fit_logistic against scikit-learn's LogisticRegression on real
sessions: the UCI "Online Shoppers Purchasing Intention" data
($BECKON_DATA_DIR/online_shoppers_intention.csv; see ../shared/data/README.md).

Both fit the same objective (the log-loss summed over rows plus
0.5 * l2 * |w|^2, the bias free; scikit-learn's C = 1 / l2) on the same
columns, so they should reach the same optimum and score the later months
alike. Run with -s to see the figures:

    BECKON_DATA_DIR=../shared/data PYTHONPATH=build/python \
      python3 -m pytest -s -q tests/python/test_logistic_sklearn.py
"""

import os
import pathlib
import warnings

import numpy as np
import pytest

import beckon

pytest.importorskip("sklearn", reason="scikit-learn is not installed")
pd = pytest.importorskip("pandas", reason="pandas is not installed")

from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402

DATA_DIR = pathlib.Path(os.environ.get(
    "BECKON_DATA_DIR",
    pathlib.Path(__file__).resolve().parents[2].parent / "shared" / "data"))
CSV = DATA_DIR / "online_shoppers_intention.csv"

L2 = 1.0

# The data's months, in calendar order (no January or April; June is
# spelled out, the others are abbreviated).
MONTHS = ["Feb", "Mar", "May", "June", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
# Train on February to September, test on October to December. The split
# is by time, as a shop would use it: fit on what happened, score what came
# next. The last quarter is 43% of the sessions (5,274 of 12,330) with about
# 1,100 purchases, so its AUC is measured to about +-0.01; the training part
# has 7,056 sessions and about 820 purchases. The quarter buys more often
# (21% against 12%: November's sales), a shift both models face alike.
TRAIN_MONTHS = MONTHS[:MONTHS.index("Sep") + 1]

# Counts of pages and seconds on them: long right tails (durations up to
# 64,000 s), so log1p before standardizing. PageValues (mostly 0) keeps its
# scale: its size is the signal. The rates and SpecialDay are in [0, 1].
LOG_COLUMNS = ["Administrative", "Administrative_Duration", "Informational",
               "Informational_Duration", "ProductRelated",
               "ProductRelated_Duration"]
PLAIN_COLUMNS = ["BounceRates", "ExitRates", "PageValues", "SpecialDay"]
# OperatingSystems, Browser, Region and TrafficType are codes, not
# quantities: Browser 13 is not "more" than Browser 2, so as numbers they
# would give the model an order that means nothing. They are one-hot
# encoded: one 0/1 column per code seen in at least MIN_CODE_SESSIONS
# training sessions, less the commonest code (the baseline, which the bias
# absorbs). Rarer codes share the baseline, so that no column is fitted
# from a handful of sessions or is absent from the training months.
CODE_COLUMNS = ["OperatingSystems", "Browser", "Region", "TrafficType"]
MIN_CODE_SESSIONS = 50


def load():
    if not CSV.exists():
        pytest.skip(f"{CSV} is absent (set BECKON_DATA_DIR to the folder "
                    "holding online_shoppers_intention.csv)")
    df = pd.read_csv(CSV)
    unknown = sorted(set(df["Month"]) - set(MONTHS))
    assert not unknown, f"unexpected Month values {unknown} in {CSV}"
    return df


def features(df):
    """The design matrix (standardized by the training months' statistics
    only), the labels, the training mask and the column names."""
    train = df["Month"].isin(TRAIN_MONTHS).to_numpy()
    cols = {}
    for c in LOG_COLUMNS:
        cols[c] = np.log1p(df[c].to_numpy(np.float64))
    for c in PLAIN_COLUMNS:
        cols[c] = df[c].to_numpy(np.float64)
    cols["Weekend"] = df["Weekend"].astype(np.float64).to_numpy()
    # VisitorType: Returning_Visitor, New_Visitor, or Other (85 sessions,
    # the baseline).
    for v in ["Returning_Visitor", "New_Visitor"]:
        cols[v] = (df["VisitorType"] == v).to_numpy(np.float64)
    for c in CODE_COLUMNS:
        counts = df.loc[train, c].value_counts()
        for code in counts.index[counts >= MIN_CODE_SESSIONS][1:]:
            cols[f"{c}={code}"] = (df[c] == code).to_numpy(np.float64)
    x = np.column_stack(list(cols.values()))
    mean = x[train].mean(axis=0)
    std = x[train].std(axis=0)
    assert (std > 0).all(), "a column is constant in the training months"
    x = (x - mean) / std
    y = df["Revenue"].astype(np.float64).to_numpy()
    return x, y, train, list(cols)


def objective(x, y, bias, weights, l2, sample_weight=None):
    """The shared objective: weighted log-loss summed + 0.5 l2 |w|^2."""
    sw = np.ones_like(y) if sample_weight is None else sample_weight
    z = x @ weights + bias
    return float(np.sum(sw * (np.logaddexp(0, z) - y * z))
                 + 0.5 * l2 * weights @ weights)


def sklearn_fit(x, y, solver, sample_weight=None):
    model = LogisticRegression(C=1.0 / L2, penalty="l2", solver=solver,
                               max_iter=10000, tol=1e-10)
    with warnings.catch_warnings():
        # newton-cg may warn at tol=1e-10 after reaching the optimum to
        # ~1e-10; the coefficients are compared below either way.
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(x, y, sample_weight=sample_weight)
    return model


def exact_solver():
    """scikit-learn's Newton solver: newton-cholesky (1.2+), which solves
    this problem to a gradient of ~1e-12, else newton-cg."""
    import sklearn
    major, minor = (int(p) for p in sklearn.__version__.split(".")[:2])
    return "newton-cholesky" if (major, minor) >= (1, 2) else "newton-cg"


def compare(sample_weight_of=None):
    df = load()
    x, y, train, names = features(df)
    xtr, ytr, xte, yte = x[train], y[train], x[~train], y[~train]
    sw = sample_weight_of(ytr) if sample_weight_of is not None else None

    ours = beckon.fit_logistic(xtr, ytr, sample_weight=sw, l2=L2)
    lbfgs = sklearn_fit(xtr, ytr, "lbfgs", sw)
    exact = sklearn_fit(xtr, ytr, exact_solver(), sw)

    auc_ours = beckon.roc_auc(ours.decision_function(xte), yte)
    auc_lbfgs = beckon.roc_auc(lbfgs.decision_function(xte), yte)
    # beckon.roc_auc is itself checked against scikit-learn's.
    from sklearn.metrics import roc_auc_score
    assert auc_lbfgs == pytest.approx(
        roc_auc_score(yte, lbfgs.decision_function(xte)), abs=1e-12)

    coef_ours = np.r_[ours.bias, ours.weights]
    coef_lbfgs = np.r_[lbfgs.intercept_, lbfgs.coef_[0]]
    coef_exact = np.r_[exact.intercept_, exact.coef_[0]]
    scale = np.abs(coef_exact).max()
    diff_lbfgs = np.abs(coef_ours - coef_lbfgs).max()
    diff_exact = np.abs(coef_ours - coef_exact).max()
    obj_ours = objective(xtr, ytr, ours.bias, ours.weights, L2, sw)
    obj_lbfgs = objective(xtr, ytr, lbfgs.intercept_[0], lbfgs.coef_[0], L2, sw)

    print(f"\n{'weighted' if sw is not None else 'unweighted'}: train "
          f"{', '.join(TRAIN_MONTHS)}: {len(ytr)} sessions, {ytr.mean():.1%} "
          f"bought; test {', '.join(MONTHS[len(TRAIN_MONTHS):])}: {len(yte)} "
          f"sessions, {yte.mean():.1%} bought; {x.shape[1]} features, "
          f"l2={L2}")
    print(f"  ROC AUC on the test months: beckon {auc_ours:.5f}, "
          f"scikit-learn lbfgs {auc_lbfgs:.5f} "
          f"(difference {abs(auc_ours - auc_lbfgs):.1e})")
    print(f"  coefficients, max |difference|: vs lbfgs {diff_lbfgs:.2e}, "
          f"vs {exact_solver()} {diff_exact:.2e} (largest |coefficient| "
          f"{scale:.3f}); beckon took {ours.iterations} Newton steps, "
          f"lbfgs {lbfgs.n_iter_[0]} iterations")
    print(f"  objective: beckon {obj_ours:.10f}, lbfgs {obj_lbfgs:.10f}")

    # The must-show: the same AUC, and a meaningful one.
    assert auc_ours > 0.75 and auc_lbfgs > 0.75
    assert abs(auc_ours - auc_lbfgs) <= 0.01
    # The same optimum. Against scikit-learn's Newton solver, which reaches
    # a gradient of ~1e-12: beckon's Newton steps stop at a gradient of
    # ~1e-12 here, and at worst ~1e-6 (where the summed loss, ~1e3, no
    # longer resolves a step). The Hessian's smallest eigenvalue is above 1
    # here (the l2 term, and standardized columns keep the free bias
    # apart), and coefficients are off the optimum by at most |gradient| /
    # that eigenvalue: ~1e-6 at worst, so 1e-6 relative to the largest
    # coefficient (~3) leaves margin. Against lbfgs only the objective is
    # compared: scikit-learn's lbfgs stops on scipy's default ftol
    # (relative change of the objective < 2.2e-9), which `tol` does not
    # set, at a gradient of 2e-2 to 5e-2 here and coefficients off by
    # ~1e-3; beckon's optimum must be at least as good.
    assert diff_exact <= 1e-6 * scale, (coef_ours, coef_exact, names)
    assert obj_ours <= obj_lbfgs + 1e-12 * abs(obj_lbfgs)
    return ours, xtr, ytr, sw


def test_same_auc_as_sklearn():
    compare()


def balanced(y):
    """Class-balancing weights (scikit-learn's class_weight="balanced")."""
    pos = y.sum()
    return np.where(y == 1, 0.5 * len(y) / pos, 0.5 * len(y) / (len(y) - pos))


def test_sample_weight_same_as_sklearn():
    ours, xtr, ytr, _ = compare(balanced)
    # The same weights through class_weight="balanced": the same model.
    cw = LogisticRegression(C=1.0 / L2, solver=exact_solver(), tol=1e-10,
                            max_iter=10000, class_weight="balanced")
    cw.fit(xtr, ytr)
    coef_cw = np.r_[cw.intercept_, cw.coef_[0]]
    coef_ours = np.r_[ours.bias, ours.weights]
    assert np.abs(coef_ours - coef_cw).max() <= 1e-6 * np.abs(coef_cw).max()


def test_integer_weights_are_repeated_rows():
    # A weight of k is the row k times (0: the row left out), exactly the
    # same objective, so the same optimum.
    df = load()
    x, y, train, _ = features(df)
    xtr, ytr = x[train], y[train]
    k = np.random.default_rng(7).integers(0, 4, size=len(ytr))
    weighted = beckon.fit_logistic(xtr, ytr, sample_weight=k, l2=L2)
    rows = np.repeat(np.arange(len(ytr)), k)
    repeated = beckon.fit_logistic(xtr[rows], ytr[rows], l2=L2)
    a = np.r_[weighted.bias, weighted.weights]
    b = np.r_[repeated.bias, repeated.weights]
    assert np.abs(a - b).max() <= 1e-6 * np.abs(b).max()

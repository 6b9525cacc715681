"""The 3-fold cross-validation error of an RBF support-vector classifier on
scikit-learn's bundled digits data, as a function of C and gamma: a zotune
simulator in stdio mode (one JSON request per line on stdin, one answer
echoing its id per line on stdout).

The error is a count of misclassified digits over 1,797: piecewise constant
in C and gamma, as hyperparameter objectives usually are. The folds are
shuffled with a fixed seed, so the same C and gamma give the same value.
Needs Debian's python3-sklearn (no download: the data ships with it).
"""
import json
import sys

from sklearn.datasets import load_digits
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.svm import SVC

X, y = load_digits(return_X_y=True)
FOLDS = StratifiedKFold(3, shuffle=True, random_state=0)


def error(C, gamma):
    return 1.0 - cross_val_score(SVC(C=C, gamma=gamma), X, y, cv=FOLDS).mean()


if __name__ == "__main__":
    for line in sys.stdin:
        req = json.loads(line)
        value = error(req["params"]["C"], req["params"]["gamma"])
        print(json.dumps({"id": req["id"], "value": value}), flush=True)

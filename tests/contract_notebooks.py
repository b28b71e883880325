"""Held-in notebooks for the data contract: written as data scientists write them.

Each builder writes one notebook under a folder and returns its path; the tests in
tests/test_contract.py convert them (with execution) and exercise the packages.
"""

from __future__ import annotations

from pathlib import Path

from notebooks import code, md, write

#: Leads with an id and the label in the frame predict sees; `spend` and `company`
#: have missing values only after row 100; `region` is a string a SimpleImputer fills.
LEADS_DATA = """\
import numpy as np
import pandas as pd

rng = np.random.default_rng(7)
n = 300
leads = pd.DataFrame(
    {
        "lead_id": np.arange(1000, 1000 + n),
        "visits": rng.integers(0, 40, n),
        "spend": rng.uniform(0, 500, n).round(2),
        "region": rng.choice(["north", "south", "east"], n, p=[0.6, 0.3, 0.1]),
        "company": rng.choice(["acme", "globex", "initech"], n),
    }
)
leads.loc[150:, "spend"] = leads.loc[150:, "spend"].where(rng.random(n - 150) > 0.2)
leads.loc[200:, "company"] = None
leads.loc[250:, "region"] = leads.loc[250:, "region"].where(rng.random(n - 250) > 0.3)
leads["converted"] = ((leads["visits"] > 15) | (leads["region"] == "east")).astype(int)
leads.tail()
"""

LEADS_MODEL = """\
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

FEATURES = ["visits", "spend", "region"]
prep = ColumnTransformer(
    [
        ("num", SimpleImputer(strategy="median"), ["visits", "spend"]),
        (
            "cat",
            make_pipeline(
                SimpleImputer(strategy="most_frequent"),
                OneHotEncoder(handle_unknown="ignore"),
            ),
            ["region"],
        ),
    ]
)
model = make_pipeline(prep, LogisticRegression(max_iter=500))
model.fit(leads[FEATURES], leads["converted"])
"""

LEADS_PREDICT = """\
def predict(frame):
    return model.predict_proba(frame[FEATURES])[:, 1]
"""


def leads(folder: Path) -> Path:
    """ids and a label in predict's frame, nulls only after row 100, a string imputed."""
    return write(
        folder / "lead_scoring.ipynb",
        md("# Lead scoring"),
        code(LEADS_DATA),
        code(LEADS_MODEL, "nb2prod:artifact"),
        code(LEADS_PREDICT, "nb2prod:predict"),
        code("scores = predict(leads)\nscores[:5]"),
    )


TICKETS = """\
import pandas as pd

tickets = pd.DataFrame(
    {
        "ticket_id": [101, 102, 103, 104, 105, 106, 107, 108],
        "text": [
            "refund my order", "app crashes on login", "refund please",
            "login error again", "where is my refund", "crash after update",
            "money back", "cannot log in",
        ],
        "team": ["billing", "tech", "billing", "tech", "billing", "tech", "billing", "tech"],
    }
)
"""

TICKETS_MODEL = """\
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

router = make_pipeline(TfidfVectorizer(), LogisticRegression())
router.fit(tickets["text"], tickets["team"])
"""

TICKETS_PREDICT = """\
def predict(texts: list[str]) -> list[str]:
    return [str(team) for team in router.predict(texts)]
"""


def tickets(folder: Path) -> Path:
    """A predict that takes a list of texts."""
    return write(
        folder / "ticket_router.ipynb",
        code(TICKETS),
        code(TICKETS_MODEL, "nb2prod:artifact"),
        code(TICKETS_PREDICT, "nb2prod:predict"),
        code('predict(tickets["text"].tolist())'),
    )


SENSORS = """\
import numpy as np
from sklearn.linear_model import Ridge

rng = np.random.default_rng(3)
counts = rng.integers(0, 10, size=(200, 3))
target = counts @ np.array([0.5, -1.0, 2.0]) + rng.normal(0, 0.1, 200)
regressor = Ridge().fit(counts, target)
"""

SENSORS_PREDICT = """\
def predict(X):
    return regressor.predict(X)
"""


def sensors(folder: Path) -> Path:
    """A 2-D array predict, called with integer counts and then with floats."""
    return write(
        folder / "sensor_model.ipynb",
        code(SENSORS, "nb2prod:artifact"),
        code(SENSORS_PREDICT, "nb2prod:predict"),
        code("predict(counts[:20])"),
        code("predict(counts[20:40] / 2.0)"),
    )


MATRIX = """\
import numpy as np
import pandas as pd
from sklearn.tree import DecisionTreeClassifier

rng = np.random.default_rng(5)
X = pd.DataFrame(rng.normal(size=(150, 3)))
y = (X[0] + X[2] > 0).astype(int)
tree = DecisionTreeClassifier(max_depth=3, random_state=0).fit(X.to_numpy(), y)
"""

MATRIX_PREDICT = """\
def predict(frame):
    return tree.predict(frame[[0, 1, 2]].to_numpy())
"""


def matrix(folder: Path) -> Path:
    """A frame whose column names are the integers pandas gives by default."""
    return write(
        folder / "matrix_model.ipynb",
        code(MATRIX, "nb2prod:artifact"),
        code(MATRIX_PREDICT, "nb2prod:predict"),
        code("predict(X)"),
    )


TICKETS_SERIES_PREDICT = """\
import pandas as pd


def predict(texts: pd.Series) -> pd.Series:
    return pd.Series(router.predict(texts), index=texts.index, name="team")
"""


def ticket_series(folder: Path) -> Path:
    """A predict that takes the text column as a Series (its name is the default column)."""
    return write(
        folder / "ticket_series.ipynb",
        code(TICKETS),
        code(TICKETS_MODEL, "nb2prod:artifact"),
        code(TICKETS_SERIES_PREDICT, "nb2prod:predict"),
        code('predict(tickets["text"])'),
    )

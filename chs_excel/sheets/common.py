"""What several output sheets share: the account label columns."""
from __future__ import annotations

import numpy as np
import pandas as pd

from chs_excel import contract as c


def account_labels(labels: pd.DataFrame, index: pd.Index) -> dict[str, np.ndarray]:
    """The Accounts columns after the ID (name, segment, stage, CSM) for ``index``, '' where a column is absent."""
    return {col: (labels[col].reindex(index).to_numpy() if col in labels else np.full(len(index), "", dtype=object))
            for col in c.ACCOUNT_COLUMNS[1:]}

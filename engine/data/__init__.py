"""The data layer: toy 2-D generators, MNIST (embedded and downloaded), and `build_dataset`.

    from engine.data import build_dataset
    ds = build_dataset(cfg.data, cfg.seed)  # ds.train.x, ds.train.y, ds.val, ds.test, ...

Modules: `toy` (seeded generators and input features), `idx` (the MNIST file format), `mnist`
(embedded subset, verified download of the full set), `datasets` (the DATASETS registry and
`build_dataset`), `errors` (DataError).
"""

from engine.data.datasets import DATASETS, Dataset, Split, build_dataset
from engine.data.errors import DataError

__all__ = ["DATASETS", "DataError", "Dataset", "Split", "build_dataset"]

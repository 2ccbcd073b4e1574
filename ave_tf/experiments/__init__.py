"""Named experiments (registered recipes) and the paper-table runner.

Importing the package registers the built-in experiments (`paper_tables.py`).
"""

from ave_tf.experiments import authors, paper_tables, zoo  # noqa: F401 (register the experiments)
from ave_tf.experiments.registry import (  # noqa: F401 (the public API)
    experiment_names,
    get_experiment,
    register_experiment,
)

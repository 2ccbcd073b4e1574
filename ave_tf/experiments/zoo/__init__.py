"""The zoo's experiments (and each family's own loss, registered in the same module).

One module per model family (`psp.py`, `cmbs.py`, ...) registering `psp`, `psp_weak`, ... with
`register_experiment` and its loss with `ave_tf.training.losses.register_loss`; every module of
this package is imported here, so adding a recipe is adding a file.
"""

import importlib
import pkgutil

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

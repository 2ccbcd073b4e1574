"""The model zoo: later AVE models (PSP, CMBS, CACE-Net) on the same features and splits.

One module per model family, each registering its config and builder (`register_model`);
every module of this package is imported here, so adding a model is adding a file.
"""

import importlib
import pkgutil

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

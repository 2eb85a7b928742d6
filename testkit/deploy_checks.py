"""deploy/validate.py (a script, not a package) loaded as a module, once, for
the tests of deploy/: its checks are what they run and show failing."""

from __future__ import annotations

import importlib.util
import sys

from .paths import ROOT


def load_validate():
    """The module of deploy/validate.py, registered under `deploy_validate`."""
    if "deploy_validate" in sys.modules:
        return sys.modules["deploy_validate"]
    spec = importlib.util.spec_from_file_location("deploy_validate", ROOT / "deploy" / "validate.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module

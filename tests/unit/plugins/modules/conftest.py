import json

import pytest
from ansible.module_utils import _internal
from ansible.module_utils.testing import patch_module_args

from ansible_collections.cloudnative.fluid.plugins.module_utils import driver


class ModuleResult(dict):
    @property
    def failed(self):
        return bool(self.get("failed"))


@pytest.fixture
def run_module(capsys, monkeypatch):
    """run_module(module, args, cluster, check=False, diff=False) -> the module's JSON result."""
    def run(module, args, cluster, check=False, diff=False):
        # a module runs apart from the controller: once a test imported controller code (an action
        # plugin), ansible marks the process as the controller and sends module warnings to the
        # screen instead of the result
        monkeypatch.setattr(_internal, "is_controller", False)
        monkeypatch.setattr(driver, "connect", lambda m: cluster)
        monkeypatch.setattr(module, "connect", lambda m: cluster, raising=False)
        args = dict(args)
        if check:
            args["_ansible_check_mode"] = True
        if diff:
            args["_ansible_diff"] = True
        with patch_module_args(args):
            with pytest.raises(SystemExit):
                module.main()
        out = capsys.readouterr().out
        return ModuleResult(json.loads(out))
    return run

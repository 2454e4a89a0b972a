"""module_utils/driver.py: what counts as a change."""
from ansible_collections.cloudnative.fluid.plugins.module_utils import driver


def test_comparable_keeps_the_empty_strings_the_user_sets():
    applied = {"kind": "X", "metadata": {"name": "x"}, "spec": {"fuse": {"options": {"writeback": ""}}}}
    stored = {"kind": "X", "metadata": {"name": "x"}, "spec": {"fuse": {"options": {"writeback": ""}},
                                                               "podMetadata": {}, "tieredstore": {"levels": [
                                                                   {"quota": "1Gi", "volumeSource": {}, "x": ""}]}}}
    assert driver.comparable(stored, applied) == {"spec": {"fuse": {"options": {"writeback": ""}},
                                                           "tieredstore": {"levels": [{"quota": "1Gi"}]}}}
    assert driver.comparable(stored) == {"spec": {"tieredstore": {"levels": [{"quota": "1Gi"}]}}}

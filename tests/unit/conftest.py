"""Make `ansible_collections.cloudnative.fluid` importable for plain pytest.

The collection's root is this repository; Python finds it as
.cache/collections/ansible_collections/cloudnative/fluid (a symlink to the root, the same one
`make collection-link` makes and ANSIBLE_COLLECTIONS_PATH uses). kubernetes.core comes from the
venv's `ansible` package (site-packages/ansible_collections), merged by namespace packages.
"""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COLLECTIONS = os.path.join(ROOT, ".cache", "collections")
LINK = os.path.join(COLLECTIONS, "ansible_collections", "cloudnative", "fluid")

if not os.path.exists(LINK):
    os.makedirs(os.path.dirname(LINK), exist_ok=True)
    os.symlink(ROOT, LINK)
if COLLECTIONS not in sys.path:
    sys.path.insert(0, COLLECTIONS)

UNIT = os.path.dirname(os.path.abspath(__file__))
if UNIT not in sys.path:
    sys.path.insert(0, UNIT)  # for `import fakes`

try:
    from hypothesis import settings
    from hypothesis.configuration import set_hypothesis_home_dir

    # keep hypothesis' files out of the work tree (a .hypothesis/ there would be shipped and linted)
    set_hypothesis_home_dir(os.path.join(ROOT, ".cache", "hypothesis"))
    settings.register_profile("fluid", database=None, deadline=None)
    settings.load_profile("fluid")
except ImportError:  # hypothesis is in requirements-dev.txt
    pass

# Copyright: (c) 2026, cloudnative.fluid contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Loads cloudnative.fluid.fleet_summary for the playbooks of this folder (Ansible loads the callback
plugins beside a playbook): a run on several clusters ends with those that failed, the task and its
message. Skipped when cloudnative.fluid.fleet_summary is enabled by name too (no second summary)."""
from __future__ import annotations

from ansible import constants as C
from ansible_collections.cloudnative.fluid.plugins.callback.fleet_summary import CallbackModule as _Summary


class CallbackModule(_Summary):
    CALLBACK_NAME = "fleet_summary"
    CALLBACK_NEEDS_ENABLED = False

    def v2_playbook_on_stats(self, stats):
        if "cloudnative.fluid.fleet_summary" not in (C.CALLBACKS_ENABLED or []):
            super().v2_playbook_on_stats(stats)

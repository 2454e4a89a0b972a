# -*- coding: utf-8 -*-
# Copyright (c) cloudnative.fluid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Runs the datamigrate module as usual and prints its wait's progress (plugins/plugin_utils/progress.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.cloudnative.fluid.plugins.plugin_utils.progress import ProgressAction


class ActionModule(ProgressAction):
    pass

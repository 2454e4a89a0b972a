# -*- coding: utf-8 -*-
# Copyright (c) cloudnative.fluid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # Options of every waiting module of cloudnative.fluid.
    DOCUMENTATION = r"""
options:
  wait:
    description:
      - Wait until every object handled by the task has reached the state described by the module
        (see its description), or is gone for O(state=absent).
      - All objects are awaited at once, by watching the API server, so the task returns as soon as
        the last object gets there. Dropped watch streams, expired resource versions (HTTP 410) and
        API server restarts are handled by reconnecting.
      - In check mode nothing is awaited.
      - When the module runs on the controller (connection C(local)), a wait that lasts over 3 seconds prints
        a line per change of what it waits for (phase, cache capacity, ready workers) as it happens, at
        default verbosity; not with C(no_log) or C(async).
    type: bool
    default: true
  wait_timeout:
    description:
      - How many seconds the whole wait may take, for all objects together. Must be positive.
      - On timeout the task fails with a diagnosis of each object that did not get there, with its phase
        and conditions, the runtime or Dataset of the same name, master/worker/fuse phases and ready
        counts, how many nodes match the node affinity, pods that are not ready or still use the
        volume, and whether Fluid's controllers ever wrote a status.
    type: int
    default: 300
notes:
  - The result reports, per object, C(wait_seconds), the time from the start of the wait until that object
    reached the awaited state.
"""

# -*- coding: utf-8 -*-
# Copyright (c) cloudnative.fluid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Wait until a predicate holds for many Kubernetes objects at once, by watch.

One list, then one watch stream per (kind, namespace) -- or per kind across all namespaces when
many namespaces are involved -- each in its own thread, all feeding one queue. The caller's
predicates are evaluated on every event, so the wait ends within one event of the controller
writing the awaited status; nothing polls on a timer.

Streams survive what real clusters do to them:

* a watch that the server ends (its timeoutSeconds, a load balancer) resumes from the last
  resourceVersion seen (bookmarks keep it fresh);
* ``410 Gone`` (resourceVersion too old), as an HTTP status or a watch ERROR event, re-lists;
* a dropped connection or an API server that restarts (connection refused, 5xx, 429 for a
  while) reconnects with a short capped backoff, until the deadline;
* any other API error (403, 404 ...) ends the wait with that error.

There is one overall deadline for all objects together.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import queue
import threading
import time

# Above this many namespaces for one kind, watch that kind across all namespaces in one stream.
MAX_NAMESPACED_STREAMS = 12
# Longest single watch request; the stream is resumed (not re-listed) after it.
MAX_WATCH_SECONDS = 290
BACKOFF_START = 0.05
BACKOFF_MAX = 1.0
# How long a finished wait lets its stream threads end, all of them together.
JOIN_GRACE = 0.05


class Gone(Exception):
    """The resourceVersion a watch asked for is too old (HTTP 410): re-list."""


class Transient(Exception):
    """A failure worth reconnecting after: connection refused/reset, 5xx, 429."""


class WaitError(Exception):
    """A stream failed for a reason that reconnecting will not fix (e.g. 403)."""

    def __init__(self, message, cause=None):
        super(WaitError, self).__init__(message)
        self.cause = cause


class Target(object):
    """One object to wait for: kind, namespace, name and a predicate on it.

    The predicate receives the object as a dict, or None while the object does not exist, and
    returns True when the object is where the caller wants it (e.g. ``lambda o: o is None`` for a
    deletion).
    """

    __slots__ = ("kind", "namespace", "name", "predicate")

    def __init__(self, kind, namespace, name, predicate):
        self.kind, self.namespace, self.name, self.predicate = kind, namespace, name, predicate

    @property
    def key(self):
        return (self.kind, self.namespace, self.name)


class WaitResult(object):
    """done: all predicates held at once before the deadline.

    objects: key -> last seen object (None = absent); satisfied: key -> seconds from the start
    of the wait until the predicate last became true (missing when it does not hold);
    elapsed: seconds the wait took; reconnects: how many times streams reconnected or re-listed.
    """

    def __init__(self, done, objects, satisfied, elapsed, reconnects):
        self.done, self.objects, self.satisfied = done, objects, satisfied
        self.elapsed, self.reconnects = elapsed, reconnects

    def pending(self):
        return [k for k in self.objects if k not in self.satisfied]


class _Scope(object):
    """One stream: a kind in one namespace (or all namespaces when namespace is None)."""

    def __init__(self, kind, namespace, names):
        self.kind, self.namespace, self.names = kind, namespace, set(names)

    @property
    def field_selector(self):
        if len(self.names) == 1 and self.namespace is not None:
            return "metadata.name=%s" % next(iter(self.names))
        return None

    def describe(self):
        return "%s in %s" % (self.kind, self.namespace or "all namespaces")


def _rv(obj):
    return ((obj or {}).get("metadata") or {}).get("resourceVersion")


def _key_of(kind, obj):
    meta = obj.get("metadata") or {}
    return (kind, meta.get("namespace"), meta.get("name"))


def _plan(targets):
    by_kind = {}
    for t in targets:
        by_kind.setdefault(t.kind, {}).setdefault(t.namespace, set()).add(t.name)
    scopes = []
    for kind, namespaces in by_kind.items():
        if len(namespaces) > MAX_NAMESPACED_STREAMS:
            scopes.append(_Scope(kind, None, set().union(*namespaces.values())))
        else:
            for ns, names in namespaces.items():
                scopes.append(_Scope(kind, ns, names))
    return scopes


def _stream(source, scope, events, stop, clock, deadline):
    """Thread body: list, then watch and re-watch one scope until stopped."""
    rv = None
    backoff = BACKOFF_START
    while not stop.is_set():
        remaining = deadline - clock()
        if remaining <= 0:
            return
        try:
            if rv is None:
                items, rv = source.list(scope.kind, scope.namespace, field_selector=scope.field_selector,
                                        with_version=True)
                events.put(("list", scope, items))
            timeout = int(max(1, min(MAX_WATCH_SECONDS, remaining + 1)))
            for event in source.watch(scope.kind, scope.namespace, field_selector=scope.field_selector,
                                      resource_version=rv, timeout_seconds=timeout, stop=stop):
                if stop.is_set():
                    return
                etype = event.get("type")
                obj = event.get("object") or {}
                if etype == "ERROR":
                    code = obj.get("code")
                    if code == 410:
                        raise Gone(obj.get("message") or "resource version too old")
                    if code in (429, 500, 502, 503, 504):
                        raise Transient("watch error %s: %s" % (code, obj.get("message")))
                    raise WaitError("watching %s failed: %s %s" % (scope.describe(), code, obj.get("message")))
                new_rv = _rv(obj)
                if new_rv:
                    rv = new_rv
                backoff = BACKOFF_START
                if etype in ("ADDED", "MODIFIED", "DELETED"):
                    events.put(("event", scope, etype, obj))
            # The server ended the stream: resume from rv (no re-list needed).
        except Gone:
            rv = None
            events.put(("relist", scope, None))
        except Transient as e:
            events.put(("reconnect", scope, str(e)))
            stop.wait(min(backoff, max(0.0, deadline - clock())))
            backoff = min(BACKOFF_MAX, backoff * 2)
        except WaitError as e:
            events.put(("fatal", scope, e))
            return
        except Exception as e:  # pylint: disable=broad-except
            events.put(("fatal", scope, WaitError("watching %s failed: %s" % (scope.describe(), e), e)))
            return


def wait_for(source, targets, timeout, clock=time.monotonic, progress=None):
    """Wait until every target's predicate holds at the same time, or ``timeout`` seconds pass.

    ``source`` provides ``list(kind, namespace, field_selector=None, with_version=True)`` ->
    (items, resourceVersion)
    and ``watch(kind, namespace, field_selector=None, resource_version=None, timeout_seconds=None,
    stop=None)`` -> iterable of watch events ({'type': ..., 'object': {...}}); both raise
    ``Gone`` for 410 and ``Transient`` for failures worth a reconnect (module_utils.client's
    FluidClient does); an optional ``cancel(stop)`` closes the streams of a finished wait.
    ``progress``, when given, is called after each list and event as ``progress(objects, satisfied,
    seconds)``: the last seen object of each key listed so far, the keys that hold, seconds since
    the start (module_utils.progress.Reporter.update); it must not raise.
    Returns a WaitResult; raises WaitError when a stream cannot go on.
    """
    start = clock()
    deadline = start + float(timeout)
    targets = list(targets)
    by_key = {t.key: t for t in targets}
    objects = {t.key: None for t in targets}
    known = set()
    satisfied = {}
    reconnects = [0]

    def evaluate(key):
        t = by_key[key]
        if key in known and t.predicate(objects[key]):
            satisfied.setdefault(key, clock() - start)
        else:
            satisfied.pop(key, None)

    def all_done():
        return len(satisfied) == len(targets)

    if not targets:
        return WaitResult(True, objects, satisfied, 0.0, 0)

    events = queue.Queue()
    stop = threading.Event()
    threads = []
    for scope in _plan(targets):
        th = threading.Thread(target=_stream, args=(source, scope, events, stop, clock, deadline),
                              name="fluid-watch-%s-%s" % (scope.kind, scope.namespace or "all"))
        th.daemon = True
        th.start()
        threads.append(th)

    error = None
    try:
        while not all_done():
            remaining = deadline - clock()
            if remaining <= 0:
                break
            try:
                msg = events.get(timeout=remaining)
            except queue.Empty:
                break
            kind, scope = msg[0], msg[1]
            if kind == "list":
                present = {}
                for item in msg[2]:
                    present[_key_of(scope.kind, item)] = item
                for key in by_key:
                    if key[0] != scope.kind or key[2] not in scope.names:
                        continue
                    if scope.namespace is not None and key[1] != scope.namespace:
                        continue
                    objects[key] = present.get(key)
                    known.add(key)
                    evaluate(key)
            elif kind == "event":
                etype, obj = msg[2], msg[3]
                key = _key_of(scope.kind, obj)
                if key in by_key:
                    objects[key] = None if etype == "DELETED" else obj
                    evaluate(key)
                else:
                    continue
            elif kind in ("relist", "reconnect"):
                reconnects[0] += 1
            elif kind == "fatal":
                error = msg[2]
                break
            if progress is not None and kind in ("list", "event"):
                progress(dict((k, objects[k]) for k in known), satisfied, clock() - start)
    finally:
        stop.set()
        cancel = getattr(source, "cancel", None)
        if cancel is not None:
            cancel(stop)
        # One short grace for all streams together (they are daemon threads, woken by cancel()).
        grace_end = time.monotonic() + JOIN_GRACE
        for th in threads:
            th.join(max(0.0, grace_end - time.monotonic()))
    if error is not None:
        raise error
    return WaitResult(all_done(), objects, dict(satisfied), clock() - start, reconnects[0])

# -*- coding: utf-8 -*-
# Copyright (c) cloudnative.fluid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Sizes as Kubernetes and Fluid write them, to and from bytes.

Two notations meet in Fluid objects:

* Kubernetes quantities in specs (``spec.tieredstore.levels[].quota``):
  ``2Gi``, ``10G``, ``500Mi``, ``1.5Gi``, ``1e9``, ``100m``. A suffix ``Ki Mi Gi Ti Pi Ei``
  is binary (1024), ``k M G T P E`` is decimal (1000), ``m`` is milli.
* Fluid's human sizes in statuses (``status.cacheStates.cacheCapacity``,
  ``status.ufsTotal``): ``12GiB``, ``12.00GiB``, ``1.742GiB``, ``0B``, ``0.00B``. These always end
  in ``B``; Fluid (like Alluxio) reads ``KB MB GB`` as binary too.

So a value ending in ``B`` is read the Fluid way, anything else the Kubernetes way.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
from decimal import Decimal, InvalidOperation, ROUND_HALF_UP

_BINARY = {"Ki": 1, "Mi": 2, "Gi": 3, "Ti": 4, "Pi": 5, "Ei": 6}
_DECIMAL = {"k": 1, "M": 2, "G": 3, "T": 4, "P": 5, "E": 6}
_HUMAN_UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]
_K8S_MAX = Decimal(2 ** 63 - 1)  # resource.Quantity caps larger values (and int(Decimal("1e999999")) takes minutes)

# The Kubernetes quantity grammar (k8s.io/apimachinery resource.Quantity), unsigned.
_K8S_RE = re.compile(
    r"^\+?(?P<num>[0-9]+(?:\.[0-9]*)?|\.[0-9]+)"
    r"(?P<suffix>Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E|[eE][+-]?[0-9]+)?$"
)
# Fluid / Alluxio human sizes: number, optional space, optional K/M/G/T/P/E, optional i, B.
_HUMAN_RE = re.compile(r"^(?P<num>[0-9]+(?:\.[0-9]+)?|\.[0-9]+) ?(?P<prefix>[KkMmGgTtPpEe])?(?P<i>[iI])?[bB]$")
_HUMAN_POWER = {"k": 1, "m": 2, "g": 3, "t": 4, "p": 5, "e": 6}


class QuantityError(ValueError):
    """A size that is neither a Kubernetes quantity nor a Fluid human size."""


def _decimal(text, original):
    try:
        return Decimal(text)
    except InvalidOperation:
        raise QuantityError("%r is not a number" % (original,))


def parse_quantity(value):
    """A Kubernetes quantity (``2Gi``, ``10G``, ``1.5Gi``, ``1e3``, ``100m``) as a Decimal of base units.

    Raises QuantityError for anything else, including Fluid human sizes such as ``2GiB``, NaN, infinity
    and amounts above 2^63-1 (which the API server would silently cap).
    """
    if isinstance(value, bool):
        raise QuantityError("%r is not a quantity" % (value,))
    if isinstance(value, (int, float, Decimal)):
        if value < 0:
            raise QuantityError("%r is negative" % (value,))
        if not Decimal(str(value)).is_finite():
            raise QuantityError("%r is not a finite number" % (value,))
        return Decimal(str(value))
    text = str(value).strip()
    m = _K8S_RE.match(text)
    if not m:
        raise QuantityError(
            "%r is not a Kubernetes quantity; write a number with an optional unit: "
            "Ki, Mi, Gi, Ti, Pi, Ei (powers of 1024) or k, M, G, T, P, E (powers of 1000), e.g. 2Gi" % (value,)
        )
    number = _decimal(m.group("num"), value)
    suffix = m.group("suffix") or ""
    try:
        if suffix in _BINARY:
            number *= Decimal(1024) ** _BINARY[suffix]
        elif suffix in _DECIMAL:
            number *= Decimal(1000) ** _DECIMAL[suffix]
        elif suffix == "m":
            number /= Decimal(1000)
        elif suffix[:1] in ("e", "E"):
            number *= Decimal(10) ** int(suffix[1:])
    except ArithmeticError:  # decimal.Overflow (1e1000000)
        number = None
    if number is None or number > _K8S_MAX:
        raise QuantityError("%r is more than the largest Kubernetes quantity, 2^63-1 (just under 8Ei); the API "
                            "server would silently cap it" % (value,))
    return number


def parse_bytes(value):
    """Bytes (an int) from either notation: ``12GiB``, ``12.00GiB``, ``1.742GiB``, ``0B``, ``2Gi``, ``500Mi``.

    ``None`` and the empty string give ``None`` (Fluid leaves sizes empty until it knows them).
    Fractions of a byte are rounded half up.
    """
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            raise QuantityError("%r is negative" % (value,))
        return value
    text = str(value).strip()
    if text == "":
        return None
    m = _HUMAN_RE.match(text)
    if m:
        number = _decimal(m.group("num"), value)
        power = _HUMAN_POWER.get((m.group("prefix") or "").lower(), 0)
        if number >= Decimal(1024) ** (7 - power):  # Fluid's sizes are int64 bytes: beyond is not a size
            raise QuantityError("%r is too large to be a size in bytes" % (value,))
        result = number * (Decimal(1024) ** power)
    else:
        result = parse_quantity(text)
    return int(result.to_integral_value(rounding=ROUND_HALF_UP))


def format_bytes(num_bytes, precision=2, strip=True):
    """Bytes as Fluid prints them: ``12.00GiB`` (strip=False) or ``12GiB`` (strip=True).

    Uses the largest binary unit that keeps the number at or above 1, like Fluid's BytesSize.
    """
    if num_bytes is None:
        return None
    value = Decimal(int(num_bytes))
    if value < 0:
        raise QuantityError("%r is negative" % (num_bytes,))
    unit = 0
    while value >= 1024 and unit < len(_HUMAN_UNITS) - 1:
        value /= 1024
        unit += 1
    text = "%.*f" % (precision, value)
    if strip and "." in text:
        text = text.rstrip("0").rstrip(".")
    return text + _HUMAN_UNITS[unit]

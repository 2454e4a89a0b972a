"""Property-based tests (hypothesis) for the collection's pure functions.

* quantity.py against Kubernetes' quantity semantics (an independent exact reference parser with
  fractions.Fraction), Fluid's human sizes, same_quantity's laws, and errors that name the value;
* validate.py against independent, character-by-character references of Kubernetes' name rules
  (DNS-1035, DNS-1123 label/subdomain, qualified names, label keys and values), mount points,
  node selectors and tolerations: every generated valid value is accepted, every invalid one is
  rejected with an error that starts with the field's path;
* engine.py (fluid_object, str_map, deep_merge, prune, comparable) and the modules' builders
  (the KIND.build of dataset, runtime and dataload): exact camelCase
  fields, names carried over, no None values, `spec` merged last, deterministic, inputs untouched,
  and the modules' own validation accepts every generated valid item;
* nodes.py label plans: applying a plan and planning again changes nothing.

Every test bounds its examples so the whole file stays within a few seconds; deadline=None
because the machine running it may be loaded.
"""
import copy
import os
import posixpath
import re
import string
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, assume, given, settings, strategies as st

from ansible_collections.cloudnative.fluid.plugins.module_utils import scheduling
from ansible_collections.cloudnative.fluid.plugins.module_utils import driver as E
from ansible_collections.cloudnative.fluid.plugins.module_utils import fluid as F
from ansible_collections.cloudnative.fluid.plugins.module_utils import nodes as N
from ansible_collections.cloudnative.fluid.plugins.module_utils import validate as V
from ansible_collections.cloudnative.fluid.plugins.module_utils.quantity import (
    QuantityError, format_bytes, parse_bytes, parse_quantity)
from ansible_collections.cloudnative.fluid.plugins.modules import dataload as DL
from ansible_collections.cloudnative.fluid.plugins.modules import dataset as DS
from ansible_collections.cloudnative.fluid.plugins.modules import runtime as RT

from fakes import format_quantity, is_quantity, same_quantity


# FLUID_PROPERTIES_SCALE=10 make unit: ten times the examples (for a hunt; the default keeps `make unit` quick).
SCALE = float(os.environ.get("FLUID_PROPERTIES_SCALE", "1"))


def fast(n):
    return settings(max_examples=max(1, int(n * SCALE)), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


# ================================================================ independent references

LOWER = frozenset(string.ascii_lowercase)
DIGITS = frozenset(string.digits)
ALNUM = frozenset(string.ascii_letters + string.digits)


def ref_dns1123_label(s, max_len=63):
    return (0 < len(s) <= max_len and s[0] in LOWER | DIGITS and s[-1] in LOWER | DIGITS
            and all(c in LOWER | DIGITS | {"-"} for c in s))


def ref_dns1035(s):
    return ref_dns1123_label(s) and s[0] in LOWER


def ref_subdomain(s):
    return 0 < len(s) <= 253 and all(ref_dns1123_label(p, 253) for p in s.split("."))


def ref_qualified_name(s):
    return (0 < len(s) <= 63 and s[0] in ALNUM and s[-1] in ALNUM
            and all(c in ALNUM | {"-", "_", "."} for c in s))


def ref_label_key(s):
    parts = s.split("/")
    if len(parts) == 1:
        return ref_qualified_name(s)
    return len(parts) == 2 and ref_subdomain(parts[0]) and ref_qualified_name(parts[1])


def ref_label_value(s):
    return s == "" or ref_qualified_name(s)


BINARY = {"Ki": 1, "Mi": 2, "Gi": 3, "Ti": 4, "Pi": 5, "Ei": 6}
DECIMAL = {"k": 1, "M": 2, "G": 3, "T": 4, "P": 5, "E": 6}


def ref_quantity(text):
    """Kubernetes' quantity grammar (resource.ParseQuantity, unsigned) as an exact Fraction, or None.

    <quantity> ::= [+]<number><suffix>; <number> ::= <digits> | <digits>.<digits> | <digits>. | .<digits>;
    <suffix> ::= Ki|Mi|Gi|Ti|Pi|Ei | m|""|k|M|G|T|P|E | (e|E)[+-]<digits>
    """
    s = text.strip()
    if s.startswith("+"):
        s = s[1:]
    i = 0
    while i < len(s) and s[i] in DIGITS:
        i += 1
    whole = s[:i]
    frac = ""
    if i < len(s) and s[i] == ".":
        j = i + 1
        while j < len(s) and s[j] in DIGITS:
            j += 1
        frac, i = s[i + 1:j], j
    if not whole and not frac:
        return None
    number = Fraction(int(whole or "0")) + (Fraction(int(frac), 10 ** len(frac)) if frac else 0)
    suffix = s[i:]
    if suffix == "":
        return number
    if suffix in BINARY:
        return number * 1024 ** BINARY[suffix]
    if suffix in DECIMAL:
        return number * 1000 ** DECIMAL[suffix]
    if suffix == "m":
        return number / 1000
    if suffix[0] in "eE":
        exp = suffix[1:]
        sign = 1
        if exp[:1] in ("+", "-"):
            sign, exp = (-1 if exp[0] == "-" else 1), exp[1:]
        if exp and all(c in DIGITS for c in exp):
            return number * Fraction(10) ** (sign * int(exp))
    return None


def round_half_up(f):
    return int((f * 2 + 1) // 2)


# ================================================================ strategies

dns1035 = st.from_regex(r"[a-z]([-a-z0-9]{0,61}[a-z0-9])?", fullmatch=True)
dns_label = st.from_regex(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?", fullmatch=True)
short_label = st.from_regex(r"[a-z0-9]([-a-z0-9]{0,12}[a-z0-9])?", fullmatch=True)
subdomain = st.lists(short_label, min_size=1, max_size=4).map(".".join)
qualified_name = st.from_regex(r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?", fullmatch=True)
label_key = st.one_of(qualified_name, st.builds("{}/{}".format, subdomain, qualified_name))
label_value = st.one_of(st.just(""), qualified_name)
user_label_key = label_key.filter(lambda k: not N.is_fluid_key(k))
label_map = st.dictionaries(user_label_key, label_value, max_size=4)
annotation_map = st.dictionaries(label_key, st.text(max_size=20), max_size=3)
scalar = st.one_of(st.text(max_size=12), st.integers(-5, 10 ** 6), st.booleans())
options_map = st.dictionaries(st.from_regex(r"[a-z][a-zA-Z0-9_.]{0,15}", fullmatch=True), scalar, max_size=4)
path_segment = st.from_regex(r"[a-z0-9][a-z0-9_.-]{0,8}", fullmatch=True).filter(lambda s: s not in (".", ".."))
abs_path = st.lists(path_segment, max_size=3).map(lambda p: "/" + "/".join(p))

# Strings near the rules: alphabets that hit every class boundary, and mutations of valid values.
near_text = st.text(alphabet="abzAZ09-_./ \n\u00e9", max_size=70)


@st.composite
def mutated(draw, valid):
    s = draw(valid)
    how = draw(st.sampled_from(["insert", "upper", "lead", "trail", "long", "newline", "empty"]))
    if how == "insert":
        i = draw(st.integers(0, len(s)))
        return s[:i] + draw(st.sampled_from(list("_. /A!\u00e9\n"))) + s[i:]
    if how == "upper":
        return s.upper()
    if how == "lead":
        return draw(st.sampled_from(["-", "_", ".", "0"])) + s
    if how == "trail":
        return s + draw(st.sampled_from(["-", "_", ".", "\n"]))
    if how == "long":
        return s + "a" * (64 - len(s) % 64)
    if how == "newline":
        return s + "\n"
    return ""


def near(valid):
    return st.one_of(valid, mutated(valid), near_text)


# ---------------------------------------------------------------- quantities

QTY_SUFFIXES = ["", "m"] + list(BINARY) + list(DECIMAL)


@st.composite
def k8s_quantity_text(draw):
    whole = draw(st.one_of(st.just(""), st.integers(0, 10 ** 12).map(str)))
    frac = draw(st.one_of(st.none(), st.from_regex(r"[0-9]{0,6}", fullmatch=True)))
    if not whole and not frac:
        whole = draw(st.integers(0, 999).map(str))
    number = whole + ("" if frac is None else "." + frac)
    if draw(st.booleans()):
        suffix = draw(st.sampled_from(QTY_SUFFIXES))
    else:
        suffix = draw(st.sampled_from("eE")) + draw(st.sampled_from(["", "+", "-"])) + str(draw(st.integers(0, 9)))
    return draw(st.sampled_from(["", "+"])) + number + suffix


# Kubernetes keeps quantities at nano precision up to 2**63-1 (larger ones are capped, smaller ones
# rounded up); within that range its value is exact, and so must ours be.
def in_k8s_range(f):
    return f <= 2 ** 63 - 1 and (f * 10 ** 9).denominator == 1


quantity_alphabet = "0123456789.+-eEKMGTPikmnuB i\n"


# ================================================================ quantity properties

@fast(75)
@given(k8s_quantity_text())
def test_parse_quantity_is_kubernetes_exact(text):
    expected = ref_quantity(text)
    assert expected is not None, text
    if expected > 2 ** 63 - 1:  # Kubernetes would cap it silently: an error that names the value instead
        with pytest.raises(QuantityError, match=re.escape(repr(text))):
            parse_quantity(text)
        return
    assume(in_k8s_range(expected))
    got = parse_quantity(text)
    assert isinstance(got, Decimal)
    assert Fraction(got) == expected
    assert is_quantity(text)
    assert parse_bytes(text) == round_half_up(expected)


@fast(50)
@given(st.integers(0, 10 ** 6), st.sampled_from(sorted(BINARY)))
def test_binary_and_decimal_suffixes_scale_by_their_powers(n, suffix):
    if n * 1024 ** BINARY[suffix] > 2 ** 63 - 1:
        with pytest.raises(QuantityError, match="largest Kubernetes quantity"):
            parse_quantity("%d%s" % (n, suffix))
        return
    assert parse_quantity("%d%s" % (n, suffix)) == n * 1024 ** BINARY[suffix]
    dec = {"Ki": "k", "Mi": "M", "Gi": "G", "Ti": "T", "Pi": "P", "Ei": "E"}[suffix]
    assert parse_quantity("%d%s" % (n, dec)) == n * 1000 ** DECIMAL[dec]
    # the decimal exponent form names the same amount as the SI suffix
    assert parse_quantity("%de%d" % (n, 3 * DECIMAL[dec])) == parse_quantity("%d%s" % (n, dec))
    if suffix != "Ki":
        assert same_quantity("%d%s" % (n, suffix), "%d%s" % (n * 1024, _smaller(suffix)))


def _smaller(suffix):
    order = sorted(BINARY, key=BINARY.get)
    return order[order.index(suffix) - 1]


@fast(100)
@given(st.text(alphabet=quantity_alphabet, max_size=12))
def test_parse_quantity_accepts_exactly_the_grammar(text):
    expected = ref_quantity(text)
    if expected is None:
        with pytest.raises(QuantityError) as e:
            parse_quantity(text)
        assert repr(text) in str(e.value)  # the error names the value
        assert not is_quantity(text)
    elif expected <= 2 ** 63 - 1:
        assume(in_k8s_range(expected))
        assert Fraction(parse_quantity(text)) == expected


@fast(37)
@given(st.one_of(st.text(max_size=15), st.integers(0, 2 * 10 ** 6).map("1e{}".format),
                 st.integers(0, 5000).map(lambda n: "1" + "0" * n + "EiB"),
                 st.sampled_from(["1E+999999999", "9" * 1000 + "e999000", "1" + "0" * 5000 + "Ei", "1e-999999999"])))
def test_parse_never_fails_with_anything_but_quantity_error(text):
    """Whatever the input (including absurd exponents), the outcome is a value or a QuantityError that
    names it, never a decimal.Overflow from deep inside (nor minutes spent on int(Decimal("1e999999")))."""
    for fn in (parse_quantity, parse_bytes):
        try:
            fn(text)
        except QuantityError as e:
            assert repr(text) in str(e) or repr(text.strip()) in str(e)


@fast(12)
@given(st.sampled_from([float("nan"), float("inf"), -float("inf"), -1, -0.5]))
def test_non_finite_and_negative_numbers_are_rejected(value):
    with pytest.raises(QuantityError) as e:
        parse_quantity(value)
    assert repr(value) in str(e.value)
    assert not is_quantity(value)


mixed_sizes = st.one_of(k8s_quantity_text(), st.text(alphabet=quantity_alphabet, max_size=8),
                        st.integers(0, 2 ** 40).map(format_bytes))


@fast(50)
@given(mixed_sizes, mixed_sizes)
def test_same_quantity_is_reflexive_and_symmetric(first, second):
    assert same_quantity(first, first)
    assert same_quantity(first, second) == same_quantity(second, first)


@fast(50)
@given(st.integers(0, 2 ** 50), st.integers(0, 2 ** 50))
def test_same_quantity_is_equality_of_bytes(x, y):
    assert same_quantity(format_quantity(x), str(x))
    assert same_quantity(format_quantity(x * 1024), "%dKi" % x)
    if x < 1024:
        assert same_quantity(format_bytes(x * 1024), "%dKi" % x)
    assert same_quantity(format_quantity(x), format_quantity(y)) == (x == y)


HUMAN_UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]


@fast(75)
@given(st.integers(0, 1023), st.integers(0, 99), st.integers(0, 6), st.sampled_from(["", " "]),
       st.booleans())
def test_fluid_human_sizes_parse_back(whole, cents, unit, space, alluxio_style):
    """Fluid's status sizes ('12.00GiB', '1.74GiB', '0.00B', Alluxio's '3 MB') are binary."""
    suffix = HUMAN_UNITS[unit]
    if alluxio_style and unit:
        suffix = suffix.replace("i", "")  # Fluid/Alluxio read KB/MB/GB as binary too
    text = "%d.%02d%s%s" % (whole, cents, space, suffix)
    expected = round_half_up(Fraction(whole * 100 + cents, 100) * 1024 ** unit)
    assert parse_bytes(text) == expected
    assert same_quantity(text, "%d.%02d%s" % (whole, cents, HUMAN_UNITS[unit]))
    if cents == 0:
        assert same_quantity(text, "%d%s" % (whole, HUMAN_UNITS[unit]))
        if unit and expected <= 2 ** 63 - 1:
            assert parse_bytes(text) == parse_bytes("%d%s" % (whole, HUMAN_UNITS[unit][:2]))  # 12GiB == 12Gi


@fast(75)
@given(st.integers(0, 2 ** 62), st.integers(0, 4), st.booleans())
def test_format_bytes_parses_back_within_its_precision(n, precision, strip):
    text = format_bytes(n, precision=precision, strip=strip)
    assert text.endswith("B")
    unit = HUMAN_UNITS.index(re.sub(r"^[0-9.]+", "", text))
    back = parse_bytes(text)
    assert abs(Fraction(back - n)) <= Fraction(1024 ** unit, 2 * 10 ** precision) + 1
    if n and n % 1024 ** unit == 0 and n // 1024 ** unit < 1024:
        assert back == n  # whole units are exact: 12GiB, 12.00GiB


@fast(50)
@given(st.integers(0, 2 ** 62))
def test_format_quantity_is_shortest_exact(n):
    text = format_quantity(n)
    assert parse_quantity(text) == n
    m = re.match(r"^([0-9]+)(Ki|Mi|Gi|Ti|Pi|Ei)?$", text)
    assert m, text
    if m.group(2):
        assert int(m.group(1)) * 1024 ** BINARY[m.group(2)] == n
        # no larger binary unit divides n
        larger = [s for s in BINARY if BINARY[s] > BINARY[m.group(2)]]
        assert all(n % 1024 ** BINARY[s] for s in larger)
    else:
        assert n == 0 or n % 1024


# ================================================================ validate.py against the references

def _rejects(errors, field, value):
    assert len(errors) == 1, errors
    assert errors[0].startswith(field + ": "), errors[0]
    if value:
        assert repr(str(value)) in errors[0], errors[0]


@fast(75)
@given(near(dns1035))
def test_resource_names_are_dns1035(value):
    errors = V.resource_name("datasets[2].name", value, "Dataset")
    if ref_dns1035(value):
        assert errors == []
    else:
        _rejects(errors, "datasets[2].name", value)


@fast(75)
@given(near(dns_label))
def test_namespaces_are_dns1123_labels(value):
    errors = V.namespace_name("runtimes[0].namespace", value)
    if ref_dns1123_label(value):
        assert errors == []
    else:
        _rejects(errors, "runtimes[0].namespace", value)


@fast(75)
@given(near(subdomain))
def test_object_names_are_dns1123_subdomains(value):
    errors = V.object_name("mounts[0].encrypt_options[0].secret_name", value, "Secret")
    if ref_subdomain(value):
        assert errors == []
    else:
        _rejects(errors, "mounts[0].encrypt_options[0].secret_name", value)


@fast(100)
@given(st.one_of(near(label_key), st.builds("{}/{}".format, near(subdomain), near(qualified_name))))
def test_label_keys_with_and_without_prefix(key):
    errors = V.qualified_key("node_selector[%s]" % key, key)
    if ref_label_key(key):
        assert errors == []
    else:
        _rejects(errors, "node_selector[%s]" % key, key)


@fast(75)
@given(near(label_value))
def test_label_values(value):
    errors = V.label_value("labels[k]", value)
    if ref_label_value(value):
        assert errors == []
    else:
        _rejects(errors, "labels[k]", value)


@fast(50)
@given(st.dictionaries(near(label_key), near(label_value), max_size=4))
def test_label_maps_name_each_bad_entry(mapping):
    errors = V.labels("labels", mapping)
    bad = {k for k, v in mapping.items() if not (ref_label_key(k) and ref_label_value(v))}
    named = {k for k in mapping if any(e.startswith("labels[%s]: " % k) for e in errors)}
    assert named == bad
    assert len(errors) == sum((not ref_label_key(k)) + (not ref_label_value(v)) for k, v in mapping.items())


@st.composite
def mount_points(draw):
    scheme = draw(st.sampled_from(F.MOUNT_SCHEMES))
    if scheme == "pvc":
        rest = draw(subdomain) + draw(st.one_of(st.just(""), abs_path))
    elif scheme == "local":
        rest = draw(abs_path.filter(lambda p: p != "/"))
    elif scheme in ("juicefs", "jfs"):
        rest = draw(st.one_of(st.just("/"), st.builds("{}{}".format, short_label, abs_path)))
    else:
        rest = draw(short_label) + draw(st.one_of(st.just(""), abs_path))
    return "%s://%s" % (scheme, rest)


@st.composite
def bad_mount_points(draw):
    how = draw(st.sampled_from(["scheme", "no-url", "empty", "pvc", "local"]))
    if how == "scheme":
        scheme = draw(st.from_regex(r"[a-z][a-z0-9]{1,7}", fullmatch=True).filter(lambda s: s not in F.MOUNT_SCHEMES))
        return "%s://%s/data" % (scheme, draw(short_label))
    if how == "no-url":
        return draw(st.one_of(abs_path, short_label, st.builds("{}:/{}".format, st.sampled_from(F.MOUNT_SCHEMES),
                                                               short_label),
                              st.builds("{}\n".format, mount_points())))
    if how == "empty":
        scheme = draw(st.sampled_from([s for s in F.MOUNT_SCHEMES if s not in ("juicefs", "jfs")]))
        return scheme + "://" + "/" * draw(st.integers(0, 3))
    if how == "pvc":
        return "pvc://" + draw(mutated(subdomain).filter(lambda s: s and "/" not in s and not ref_subdomain(s)))
    return "local://" + draw(path_segment)


@fast(50)
@given(mount_points())
def test_supported_mount_points_are_accepted(url):
    assert V.mount_point("mounts[0].mount_point", url) == []


@fast(50)
@given(bad_mount_points())
def test_bad_mount_points_are_rejected_naming_field_and_value(url):
    errors = V.mount_point("datasets[1].mounts[3].mount_point", url)
    _rejects(errors, "datasets[1].mounts[3].mount_point", url)


@st.composite
def match_expression(draw, key=user_label_key):
    op = draw(st.sampled_from(V.NODE_SELECTOR_OPERATORS))
    expr = {"key": draw(key), "operator": op}
    if op in ("In", "NotIn"):
        expr["values"] = draw(st.lists(label_value, min_size=1, max_size=3))
    elif op in ("Gt", "Lt"):
        expr["values"] = [draw(st.integers(-10 ** 6, 10 ** 6).map(str))]
    return expr


node_selector = st.builds(lambda terms: {"nodeSelectorTerms": terms},
                          st.lists(st.builds(lambda e: {"matchExpressions": e},
                                             st.lists(match_expression(), min_size=1, max_size=3)),
                                   min_size=1, max_size=3))


@fast(37)
@given(node_selector)
def test_valid_node_selectors_are_accepted(selector):
    assert V.node_selector_terms("node_affinity", selector) == []


@st.composite
def broken_selector(draw):
    """A valid selector with one expression broken; returns (selector, the broken field's path)."""
    sel = draw(node_selector)
    t = draw(st.integers(0, len(sel["nodeSelectorTerms"]) - 1))
    exprs = sel["nodeSelectorTerms"][t]["matchExpressions"]
    j = draw(st.integers(0, len(exprs) - 1))
    e = exprs[j]
    field = "node_affinity.nodeSelectorTerms[%d].matchExpressions[%d]" % (t, j)
    how = draw(st.sampled_from(["operator", "values", "key", "integer"]))
    if how == "operator":
        e["operator"] = draw(st.text(max_size=8).filter(lambda o: o not in V.NODE_SELECTOR_OPERATORS))
        return sel, field + ".operator"
    if how == "key":
        e.pop("key")
        return sel, field
    if how == "integer":
        e["operator"] = draw(st.sampled_from(["Gt", "Lt"]))
        e["values"] = [draw(st.sampled_from(["--5", "1.5", "x", "\u00b2", "", "5\n", "1e3"]))]
        return sel, field + ".values"
    if e["operator"] in ("In", "NotIn"):
        e["values"] = []
    elif e["operator"] in ("Exists", "DoesNotExist"):
        e["values"] = ["x"]
    else:
        e["values"] = ["1", "2"]
    return sel, field + ".values"


@fast(50)
@given(broken_selector())
def test_broken_node_selectors_are_rejected_naming_the_expression(case):
    selector, field = case
    errors = V.node_selector_terms("node_affinity", selector)
    assert len(errors) == 1, errors
    assert errors[0].startswith(field + ": ") or errors[0].startswith(field + "."), (field, errors)


effects = st.sampled_from(V.TOLERATION_EFFECTS)
toleration = st.one_of(
    st.fixed_dictionaries({"key": label_key, "operator": st.just("Equal"), "value": label_value},
                          optional={"effect": effects}),
    st.fixed_dictionaries({"key": label_key, "value": label_value}, optional={"effect": effects}),
    st.fixed_dictionaries({"operator": st.just("Exists")}, optional={"key": label_key, "effect": effects}),
    st.fixed_dictionaries({"key": label_key, "operator": st.just("Exists"), "effect": st.just("NoExecute"),
                           "tolerationSeconds": st.integers(0, 3600)}),
)
tolerations = st.lists(toleration, max_size=3)


@fast(50)
@given(tolerations)
def test_valid_tolerations_are_accepted(items):
    assert V.tolerations("tolerations", items) == []


@st.composite
def broken_toleration(draw):
    t = dict(draw(toleration))
    how = draw(st.sampled_from(["operator", "effect", "exists-value", "no-key", "key", "value"]))
    if how == "operator":
        t["operator"] = draw(st.text(max_size=8).filter(lambda o: o not in V.TOLERATION_OPERATORS))
        t.pop("value", None)
        return t, "operator"
    if how == "effect":
        t["effect"] = draw(st.text(min_size=1, max_size=12).filter(lambda o: o not in V.TOLERATION_EFFECTS))
        return t, "effect"
    if how == "exists-value":
        t.update(operator="Exists", value=draw(qualified_name))
        return t, "value"
    if how == "no-key":
        t.pop("key", None)
        t["operator"] = "Equal"
        t.pop("value", None)
        return t, "key"
    if how == "key":
        t["key"] = draw(mutated(label_key).filter(lambda k: k and not ref_label_key(k)))
        return t, "key"
    t.update(operator="Equal", key=draw(label_key),
             value=draw(mutated(qualified_name).filter(lambda v: not ref_label_value(v))))
    return t, "value"


@fast(50)
@given(tolerations, broken_toleration(), st.data())
def test_broken_tolerations_are_rejected_naming_the_field(good, case, data):
    bad, part = case
    i = data.draw(st.integers(0, len(good)))
    items = good[:i] + [bad] + good[i:]
    errors = V.tolerations("datasets[0].tolerations", items)
    assert errors, items
    assert all(e.startswith("datasets[0].tolerations[%d]." % i) for e in errors), errors
    assert any(e.startswith("datasets[0].tolerations[%d].%s: " % (i, part)) for e in errors), (part, errors)


# ================================================================ engine.py

json_leaf = st.one_of(st.none(), st.booleans(), st.integers(-100, 100), st.text(max_size=6))
json_key = st.sampled_from(["a", "b", "c", "mounts", "replicas", "nodeAffinity", "required", "x-y"])


def json_children(kids):
    return st.one_of(st.lists(kids, max_size=3), st.dictionaries(json_key, kids, max_size=4))


json_tree = st.recursive(json_leaf, json_children, max_leaves=12)
json_dict = st.dictionaries(json_key, json_tree, max_size=5)


def leaves(d, path=()):
    """(path, value) for every non-dict value of a nested dict (an empty dict counts as a leaf)."""
    if isinstance(d, dict) and d:
        for k, v in d.items():
            yield from leaves(v, path + (k,))
    else:
        yield path, d


def assert_set_by(out, extra):
    """Every value of extra is in out at its place (an empty mapping merged into a mapping adds nothing)."""
    for path, value in leaves(extra):
        if path:
            if value == {}:
                assert isinstance(at(out, path), dict)
            else:
                assert at(out, path) == value


def at(d, path):
    for k in path:
        d = d[k]
    return d


def all_values(x):
    if isinstance(x, dict):
        for v in x.values():
            yield v
            yield from all_values(v)
    elif isinstance(x, list):
        for v in x:
            yield v
            yield from all_values(v)


@fast(50)
@given(json_dict, json_dict)
def test_deep_merge_last_wins_and_keeps_the_rest(base, extra):
    before = copy.deepcopy((base, extra))
    out = E.deep_merge(base, extra)
    assert (base, extra) == before  # inputs untouched
    assert_set_by(out, extra)
    for path, value in leaves(base):
        if path and _survives(extra, path):
            assert at(out, path) == value  # a value of base stays unless extra sets something on its path
    assert E.deep_merge(out, extra) == out  # merging the same thing again changes nothing
    assert E.deep_merge(base, None) == base == E.deep_merge(base, {})


def _survives(extra, path):
    """Whether deep_merge keeps base's value at path: extra has nothing there nor a non-mapping above it."""
    e = extra
    for k in path:
        if k not in e:
            return True
        e = e[k]
        if not isinstance(e, dict):
            return False
    return False


@fast(37)
@given(json_dict, json_dict)
def test_deep_merge_shares_nothing_with_its_inputs(base, extra):
    out = E.deep_merge(base, extra)
    ids = {id(v) for v in all_values(base)} | {id(v) for v in all_values(extra)}
    assert not [v for v in all_values(out) if isinstance(v, (dict, list)) and id(v) in ids]


@fast(50)
@given(st.dictionaries(st.one_of(st.text(max_size=6), st.integers()), st.one_of(scalar, st.none(), st.floats(
    allow_nan=False)), max_size=5))
def test_str_map_gives_strings_kubernetes_style(d):
    out = E.str_map(d)
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in out.items())
    for k, v in d.items():
        expected = "true" if v is True else "false" if v is False else "" if v is None else str(v)
        assert out[str(k)] == expected
    assert E.str_map(out) == out
    assert E.str_map(None) == {}


@fast(50)
@given(json_tree)
def test_prune_drops_every_empty_value_and_is_idempotent(tree):
    out = E.prune(tree)
    assert E.prune(out) == out
    for v in [out] + list(all_values(out)):
        if isinstance(v, dict):
            assert not [x for x in v.values() if x in (None, "", {}, [])]


@st.composite
def server_copy(draw, obj):
    """What the API server hands back for obj: its own metadata, status, and empty defaults."""
    out = copy.deepcopy(obj)
    meta = out["metadata"]
    meta.update(uid="u-1", resourceVersion=str(draw(st.integers(1, 10 ** 6))), generation=1,
                creationTimestamp="2026-01-01T00:00:00Z", managedFields=[{"manager": "cloudnative.fluid"}])
    if draw(st.booleans()):
        meta["finalizers"] = ["fluid-dataset-controller-finalizer"]
    out["status"] = {"phase": draw(st.sampled_from(["Bound", "NotBound", ""]))}
    for k in draw(st.lists(st.sampled_from(["podMetadata", "volumeSource", "x"]), max_size=2, unique=True)):
        out["spec"].setdefault(k, draw(st.sampled_from([{}, [], "", None])))
    if not meta.get("labels") and draw(st.booleans()):
        meta["labels"] = {}
    return out


# ================================================================ builders: generated valid items

def _item(module, **kw):
    item = {k: None for k in module.ITEM_SPEC}
    item.update(namespace="default", state="present", where="name=x", prefix="")
    item.update(kw)
    return item


mount_name = st.from_regex(r"[A-Za-z0-9][-A-Za-z0-9_.]{0,12}", fullmatch=True).filter(lambda s: s not in (".", ".."))


@st.composite
def dataset_items(draw, with_spec=True):
    n = draw(st.integers(1, 3))
    names = draw(st.lists(mount_name, min_size=n, max_size=n, unique=True))
    mounts = []
    for i in range(n):
        m = {"mount_point": draw(mount_points()), "name": None, "path": None, "options": None,
             "encrypt_options": None, "read_only": None, "shared": None}
        if n > 1 or draw(st.booleans()):
            m["name"] = names[i]
        if draw(st.booleans()):
            m["path"] = draw(abs_path)
        if draw(st.booleans()):
            m["options"] = draw(options_map)
        if draw(st.booleans()):
            m["encrypt_options"] = draw(st.lists(st.fixed_dictionaries({
                "name": st.from_regex(r"[a-z][a-z-]{0,10}", fullmatch=True), "secret_name": subdomain,
                "secret_key": st.from_regex(r"[a-z][a-z-]{0,10}", fullmatch=True)}), min_size=1, max_size=2))
        m["read_only"] = draw(st.one_of(st.none(), st.booleans()))
        m["shared"] = draw(st.one_of(st.none(), st.booleans()))
        mounts.append(m)
    item = _item(DS, name=draw(dns1035), namespace=draw(dns_label), mounts=mounts,
                 shared_options=draw(st.one_of(st.none(), options_map)),
                 shared_encrypt_options=draw(st.one_of(st.none(), st.lists(st.fixed_dictionaries({
                     "name": st.from_regex(r"[a-z][a-z-]{0,10}", fullmatch=True), "secret_name": subdomain,
                     "secret_key": st.from_regex(r"[a-z][a-z-]{0,10}", fullmatch=True)}), min_size=1, max_size=2))),
                 node_selector=draw(st.one_of(st.none(), label_map)),
                 node_affinity=draw(st.one_of(st.none(), node_selector)),
                 tolerations=draw(st.one_of(st.none(), tolerations)),
                 placement=draw(st.one_of(st.none(), st.sampled_from(["Exclusive", "Shared"]))),
                 access_modes=draw(st.one_of(st.none(), st.lists(st.sampled_from(
                     ["ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"]), min_size=1,
                     max_size=2, unique=True))),
                 owner=draw(st.one_of(st.none(), st.fixed_dictionaries({
                     "uid": st.integers(0, 65535), "gid": st.integers(0, 65535),
                     "user": st.from_regex(r"[a-z]{1,8}", fullmatch=True),
                     "group": st.from_regex(r"[a-z]{1,8}", fullmatch=True)}))),
                 labels=draw(st.one_of(st.none(), label_map)),
                 annotations=draw(st.one_of(st.none(), annotation_map)))
    if with_spec:
        item["spec"] = draw(st.one_of(st.none(), st.dictionaries(
            st.sampled_from(["dataRestoreLocation", "runtimes"]), json_tree, max_size=2)))
    return item


quota_text = k8s_quantity_text().filter(lambda q: 0 < ref_quantity(q) and in_k8s_range(ref_quantity(q)))
ratio_millionths = st.integers(1, 10 ** 6)


V_MEDIA = ("MEM", "SSD")  # a VineyardRuntime's tiers


@st.composite
def levels(draw, media=("MEM", "SSD", "HDD")):
    media = draw(st.lists(st.sampled_from(media), min_size=1, max_size=3, unique=True))
    out = []
    for medium in media:
        paths = draw(st.lists(abs_path, min_size=1, max_size=2))
        level = {"medium": medium, "path": ",".join(paths), "quota": draw(quota_text), "quota_list": None,
                 "high": None, "low": None, "volume_type": draw(st.one_of(st.none(), st.sampled_from(
                     ["hostPath", "emptyDir"])))}
        if len(paths) > 1 and draw(st.booleans()):  # one quota per path instead
            level["quota"], level["quota_list"] = None, ",".join(draw(st.sampled_from(["1Gi", "50Mi", "2G"]))
                                                                 for p in paths)
        hi = draw(st.one_of(st.none(), ratio_millionths))
        if hi is not None:
            level["high"] = hi / 10 ** 6
            if hi > 1 and draw(st.booleans()):
                level["low"] = draw(st.integers(1, hi - 1)) / 10 ** 6
        elif draw(st.booleans()):
            level["low"] = draw(ratio_millionths) / 10 ** 6
        out.append(level)
    return out


env_name = st.from_regex(r"[A-Z_][A-Z0-9_]{0,10}", fullmatch=True)
resources = st.fixed_dictionaries({}, optional={
    "requests": st.dictionaries(st.sampled_from(["cpu", "memory", "nvidia.com/gpu"]), quota_text, max_size=2),
    "limits": st.dictionaries(st.sampled_from(["cpu", "memory"]), quota_text, max_size=2)})


volume_name = st.from_regex(r"[a-z][a-z0-9-]{0,8}[a-z0-9]", fullmatch=True)


@st.composite
def component(draw, kind, comp, volume_names=()):
    have = F.runtime_options(kind, comp)
    opts = {k: None for k in RT.COMPONENT_SPEC}
    if "jvm_options" in have and draw(st.booleans()):
        opts["jvm_options"] = draw(st.lists(st.from_regex(r"-X[a-z]{1,6}[0-9]{0,3}[mg]?", fullmatch=True),
                                            max_size=2))
    for opt in ("properties", "options"):
        if opt in have and draw(st.booleans()):
            opts[opt] = draw(options_map)
    if "node_selector" in have and draw(st.booleans()):
        opts["node_selector"] = draw(label_map)
    if draw(st.booleans()):
        opts["resources"] = draw(resources)
    if "image" in have:
        opts["image"] = draw(st.one_of(st.none(), st.from_regex(r"[a-z]{1,8}(/[a-z]{1,8})?", fullmatch=True)))
        opts["image_tag"] = draw(st.one_of(st.none(), st.from_regex(r"v?[0-9]\.[0-9]{1,2}", fullmatch=True)))
    if "env" in have and draw(st.booleans()):
        opts["env"] = draw(st.dictionaries(env_name, scalar, max_size=3))
    for opt in ("command", "args"):
        if opt in have and draw(st.booleans()):
            opts[opt] = draw(st.lists(st.from_regex(r"-?-?[a-z]{1,6}", fullmatch=True), max_size=3))
    if "clean_policy" in have:
        opts["clean_policy"] = draw(st.one_of(st.none(), st.sampled_from(F.FUSE_CLEAN_POLICIES)))
    if "network_mode" in have:
        opts["network_mode"] = draw(st.one_of(st.none(), st.sampled_from(F.NETWORK_MODES)))
    if "volume_mounts" in have and volume_names and draw(st.booleans()):
        opts["volume_mounts"] = [{"name": n, "mountPath": "/mnt/" + n} for n in volume_names]
    return opts


@st.composite
def runtime_items(draw, with_spec=True):
    kind = draw(st.sampled_from(sorted(RT.KINDS)))
    caps = RT.KINDS[kind]
    have = F.runtime_options(kind, "spec")
    tiers = levels(media=V_MEDIA) if kind == "VineyardRuntime" else levels()
    item = _item(RT, kind=kind, name=draw(dns1035), namespace=draw(dns_label),
                 replicas=draw(st.one_of(st.none(), st.integers(0, 20))),
                 tiered_store=draw(tiers if kind == "VineyardRuntime" else st.one_of(st.none(), tiers)),
                 labels=draw(st.one_of(st.none(), label_map)),
                 annotations=draw(st.one_of(st.none(), annotation_map)))
    names = []
    if "volumes" in have and draw(st.booleans()):
        names = draw(st.lists(volume_name, min_size=1, max_size=2, unique=True))
        item["volumes"] = [{"name": n, "hostPath": {"path": "/data/" + n}} for n in names]
    for comp in caps["components"]:
        if draw(st.booleans()):
            item[comp] = draw(component(kind, comp, names))
    if "properties" in have and draw(st.booleans()):
        item["properties"] = draw(options_map)
    if caps["version"]:
        item["image"] = draw(st.one_of(st.none(), st.from_regex(r"[a-z]{1,8}(/[a-z]{1,8})?", fullmatch=True)))
        item["image_tag"] = draw(st.one_of(st.none(), st.from_regex(r"[0-9]\.[0-9]{1,2}", fullmatch=True)))
    if "data" in have and draw(st.booleans()):
        item["data"] = {"replicas": draw(st.integers(1, 5))}
    if "run_as" in have and draw(st.booleans()):
        item["run_as"] = {"uid": draw(st.integers(0, 65535)), "gid": draw(st.integers(0, 65535)),
                          "user": draw(st.from_regex(r"[a-z]{1,8}", fullmatch=True)),
                          "group": draw(st.from_regex(r"[a-z]{1,8}", fullmatch=True))}
    if "api_gateway" in have and draw(st.booleans()):
        item["api_gateway"] = {"enabled": draw(st.booleans())}
    if "management" in have and draw(st.booleans()):
        item["management"] = {
            "metadata_sync_policy": draw(st.one_of(st.none(), st.fixed_dictionaries(
                {"auto_sync": st.one_of(st.none(), st.booleans())}))),
            "clean_cache_policy": draw(st.one_of(st.none(), st.fixed_dictionaries({
                "grace_period_seconds": st.one_of(st.none(), st.integers(0, 600)),
                "max_retry_attempts": st.one_of(st.none(), st.integers(0, 9))})))}
    if "configs" in have and draw(st.booleans()):
        item["configs"] = draw(st.lists(st.from_regex(r"[a-z]{1,6}(-[a-z]{1,4})?=[0-9]{1,3}", fullmatch=True),
                                        max_size=2))
    if "network_mode" in have:
        item["network_mode"] = draw(st.one_of(st.none(), st.sampled_from(F.NETWORK_MODES)))
    if with_spec:
        item["spec"] = draw(st.one_of(st.none(), st.dictionaries(
            st.sampled_from(["podMetadata", "disablePrometheus", "imagePullSecrets"]), json_tree, max_size=2)))
    return item


@st.composite
def dataload_params(draw, with_spec=True):
    paths = draw(st.lists(abs_path, max_size=4, unique_by=posixpath.normpath))
    params = {
        "name": draw(dns1035), "namespace": draw(dns_label), "state": "present", "dataset": draw(dns1035),
        "paths": [{"path": p, "replicas": draw(st.one_of(st.none(), st.integers(1, 5)))} for p in paths] or None,
        "load_metadata": draw(st.one_of(st.none(), st.booleans())),
        "options": draw(st.one_of(st.none(), options_map)),
        "node_selector": draw(st.one_of(st.none(), label_map)),
        "tolerations": draw(st.one_of(st.none(), tolerations)),
        "labels": draw(st.one_of(st.none(), label_map)),
        "annotations": draw(st.one_of(st.none(), annotation_map)),
        "spec": None, "wait": draw(st.booleans()), "wait_timeout": draw(st.integers(1, 3600)),
    }
    if with_spec:
        params["spec"] = draw(st.one_of(st.none(), st.dictionaries(
            st.sampled_from(["affinity", "schedule", "ttlSecondsAfterFinished"]), json_tree, max_size=2)))
    return params


BUILDERS = {
    "Dataset": (dataset_items, DS.KIND.build, lambda i: DS.KIND.validate_item(i, {})),
    "Runtime": (runtime_items, RT.KIND.build, lambda i: RT.KIND.validate_item(i, {})),
    "DataLoad": (dataload_params, DL.KIND.build, lambda p: DL.KIND.validate_item(p, p)),
}
# Keys that hold user maps (their keys are the user's, not API field names).
USER_MAPS = {"labels", "annotations", "options", "sharedOptions", "properties", "nodeSelector", "env", "requests",
             "limits"}


def api_keys(obj, user_spec):
    """Every key the builder chose (outside user maps, tolerations, and the user's own spec)."""
    out = []

    def walk(x, top=False):
        if isinstance(x, dict):
            for k, v in x.items():
                if top and k in (user_spec or {}):
                    continue
                out.append(k)
                if k in USER_MAPS or k == "tolerations":
                    continue
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)
    walk({k: v for k, v in obj.items() if k != "spec"})
    walk(obj["spec"], top=True)
    return out


@pytest.mark.parametrize("what", sorted(BUILDERS))
@fast(20)
@given(data=st.data())
def test_builders_accept_build_and_carry_over(what, data):
    strategy, build, validate = BUILDERS[what]
    item = data.draw(strategy())
    assert validate(item) == [], item  # every generated valid item passes the module's own checks
    before = copy.deepcopy(item)
    obj = build(item)
    assert item == before  # building does not touch the options
    assert build(item) == obj  # deterministic: same input, equal dicts
    assert obj["apiVersion"] == F.API_VERSION
    assert obj["kind"] == (item.get("kind") or what)
    assert obj["metadata"]["name"] == item["name"] and obj["metadata"]["namespace"] == item["namespace"]
    assert obj["metadata"].get("labels") == (E.str_map(item["labels"]) if item.get("labels") else None)
    assert obj["metadata"].get("annotations") == (E.str_map(item["annotations"]) if item.get("annotations") else None)
    generated = [v for v in all_values(obj) if v is None]
    user_nones = [v for v in all_values(item.get("spec") or {}) if v is None]
    assert len(generated) == len(user_nones)  # no None but what the user's own spec holds
    for key in api_keys(obj, item.get("spec")):
        assert re.match(r"^[a-z][A-Za-z0-9]*$", key), key  # camelCase API field names only
    # idempotent: comparing the built object with the server's copy of it finds no change
    server = data.draw(server_copy(obj))
    assert E.comparable(server) == E.comparable(obj)
    assert E.comparable(E.comparable(obj)) == E.comparable(obj)


@pytest.mark.parametrize("what", sorted(BUILDERS))
@fast(15)
@given(data=st.data())
def test_builders_merge_spec_last(what, data):
    strategy, build, dummy = BUILDERS[what]
    item = data.draw(strategy(with_spec=False))
    plain = build(item)
    # spec may name any field, also ones the typed options set: its values win
    keys = st.sampled_from(sorted(set(plain["spec"]) | {"extra", "nodeAffinity", "target"}))
    user_spec = data.draw(st.dictionaries(keys, json_tree, min_size=1, max_size=3))
    item["spec"] = user_spec
    obj = build(item)
    assert obj["spec"] == E.deep_merge(plain["spec"], user_spec)
    assert_set_by(obj["spec"], user_spec)
    assert {k: v for k, v in obj.items() if k != "spec"} == {k: v for k, v in plain.items() if k != "spec"}


@fast(20)
@given(dataset_items(with_spec=False))
def test_dataset_fields(item):
    spec = DS.KIND.build(item)["spec"]
    assert set(spec) <= {"mounts", "sharedOptions", "sharedEncryptOptions", "nodeAffinity", "tolerations", "placement",
                         "accessModes", "owner"}
    assert spec.get("sharedOptions") == (E.str_map(item["shared_options"]) if item["shared_options"] else None)
    assert spec.get("sharedEncryptOptions") == ([
        {"name": e["name"], "valueFrom": {"secretKeyRef": {"name": e["secret_name"], "key": e["secret_key"]}}}
        for e in item["shared_encrypt_options"]] if item["shared_encrypt_options"] else None)
    assert len(spec["mounts"]) == len(item["mounts"])
    for m, built in zip(item["mounts"], spec["mounts"]):
        assert built["mountPoint"] == m["mount_point"]
        expected = {"mountPoint"} | {api for opt, api in [("name", "name"), ("path", "path"), ("read_only", "readOnly"),
                                                          ("shared", "shared")] if m[opt] is not None}
        expected |= {api for opt, api in [("options", "options"), ("encrypt_options", "encryptOptions")] if m[opt]}
        assert set(built) == expected
        for e, b in zip(m["encrypt_options"] or [], built.get("encryptOptions") or []):
            assert b == {"name": e["name"], "valueFrom": {"secretKeyRef": {"name": e["secret_name"],
                                                                           "key": e["secret_key"]}}}
    assert spec.get("tolerations") == (item["tolerations"] or None)
    assert spec.get("placement") == item["placement"]
    assert spec.get("accessModes") == (item["access_modes"] or None)
    assert spec.get("owner") == item["owner"]
    assert ("nodeAffinity" in spec) == bool(item["node_selector"] or item["node_affinity"])


@fast(20)
@given(runtime_items(with_spec=False))
def test_runtime_fields(item):
    caps = RT.KINDS[item["kind"]]
    spec = RT.KIND.build(item)["spec"]
    typed = {"properties": "properties", "data": "data", "run_as": "runAs", "volumes": "volumes",
             "api_gateway": "apiGateway", "management": "management", "configs": "configs",
             "network_mode": F.RUNTIME_FIELDS["network_mode"].get(item["kind"], "networkMode")}
    allowed = ({"replicas", "tieredstore"} | set(caps["components"]) | {caps["version"]}
               | {typed[o] for o in F.runtime_options(item["kind"], "spec")})
    assert set(spec) <= allowed
    assert spec.get("replicas") == item["replicas"]
    assert spec.get("runAs") == item["run_as"] and spec.get("volumes") == item["volumes"]
    assert spec.get("data") == item["data"] and spec.get("configs") == item["configs"]
    for level, built in zip(item["tiered_store"] or [], (spec.get("tieredstore") or {}).get("levels") or []):
        assert built["mediumtype"] == level["medium"] and built["path"] == level["path"]
        if level["quota"] is None:
            assert "quota" not in built and built["quotaList"] == level["quota_list"]
        else:
            assert same_quantity(built["quota"], level["quota"])
        for opt in ("high", "low"):
            if level[opt] is None:
                assert opt not in built
            else:
                assert isinstance(built[opt], str) and float(built[opt]) == level[opt]  # exact to a millionth
        assert built.get("volumeType") == level["volume_type"]
    if item["tiered_store"]:
        assert len(spec["tieredstore"]["levels"]) == len(item["tiered_store"])
    for comp in caps["components"]:
        opts = item.get(comp) or {}
        built = spec.get(comp, {})
        fields = {F.camel(o) for o in F.runtime_options(item["kind"], comp)}
        if caps["image_at"]:  # EFC: the image under version
            fields = (fields - {"image", "imageTag"}) | {caps["image_at"]}
        assert set(built) <= fields
        if caps["image_at"] and (opts.get("image") or opts.get("image_tag")):
            assert built[caps["image_at"]] == {k: v for k, v in (("image", opts["image"]),
                                                                 ("imageTag", opts["image_tag"])) if v}
        for opt in ("clean_policy", "network_mode", "args", "command"):
            assert built.get(F.camel(opt)) == (opts.get(opt) or None)
        if opts.get("env"):
            env = E.str_map(opts["env"])
            as_list = [{"name": k, "value": env[k]} for k in sorted(env)]
            assert built["env"] == (env if caps["env"] == "map" else as_list)
        if opts.get("node_selector"):
            assert built["nodeSelector"] == E.str_map(opts["node_selector"])
        for part in ("requests", "limits"):
            for res, q in ((opts.get("resources") or {}).get(part) or {}).items():
                assert same_quantity(built["resources"][part][res], q)
    if caps["version"] and (item["image"] or item["image_tag"]):
        assert spec[caps["version"]] == {k: v for k, v in (("image", item["image"]),
                                                           ("imageTag", item["image_tag"])) if v}


@fast(20)
@given(dataload_params(with_spec=False))
def test_dataload_fields(params):
    spec = DL.KIND.build(params)["spec"]
    assert spec["dataset"] == {"name": params["dataset"], "namespace": params["namespace"]}
    assert set(spec) <= {"dataset", "loadMetadata", "target", "options", "nodeSelector", "tolerations"}
    assert spec.get("loadMetadata") == params["load_metadata"]
    assert spec.get("target") == ([{k: v for k, v in p.items() if v is not None} for p in params["paths"]]
                                  if params["paths"] else None)


@fast(20)
@given(runtime_items(with_spec=False), st.sampled_from(["tiered_store", "replicas", "properties"]), json_tree)
def test_runtime_rejects_spec_that_repeats_a_typed_option(item, option, value):
    api = {"tiered_store": "tieredstore", "replicas": "replicas", "properties": "properties"}[option]
    if item.get(option) is None:
        item[option] = {"tiered_store": [{"medium": "MEM", "path": "/dev/shm", "quota": "1Gi", "high": None,
                                          "low": None, "volume_type": None}],
                        "replicas": 1, "properties": {"a": "b"}}[option]
    item["spec"] = {api: value}
    errors = RT.KIND.validate_item(item, {})
    assert any(e.startswith("spec.%s: also set by %s" % (api, option)) for e in errors), errors


# ================================================================ nodes.py and selectors

@st.composite
def node_and_labels(draw):
    keys = draw(st.lists(user_label_key, min_size=1, max_size=4, unique=True))
    managed = {k: draw(st.one_of(label_value, st.booleans(), st.integers(0, 99))) for k in keys}
    current = draw(st.dictionaries(st.one_of(user_label_key, st.sampled_from(keys)), label_value, max_size=5))
    node = {"metadata": {"name": draw(dns_label), "labels": current}}
    return node, managed


@fast(50)
@given(node_and_labels(), st.sampled_from(["present", "absent"]), st.booleans(), st.data())
def test_label_plans_converge_in_one_step(case, state, use_values_from, data):
    node, managed = case
    assert N.validate_labels(managed, state, False) == []
    values_from = None
    if use_values_from and state == "present":
        sources = data.draw(st.lists(st.sampled_from(sorted(managed)), max_size=2, unique=True))
        values_from = {k: data.draw(user_label_key) for k in sources}
    before = copy.deepcopy(node)
    change, warnings = N.plan_node(node, managed, state, values_from)
    assert node == before
    assert set(change.patch) <= set(managed)
    assert all(change.patch[k] != change.before.get(k) for k in change.patch)
    after = N.apply_plan(node, change)
    labels = after["metadata"]["labels"]
    # labels the task does not manage are untouched
    assert {k: v for k, v in labels.items() if k not in managed} == \
        {k: v for k, v in N.labels_of(node).items() if k not in managed}
    for k, v in managed.items():
        if state == "absent":
            assert k not in labels
        elif not (values_from or {}).get(k):
            assert labels[k] == V.str_value(v)
    again, dummy = N.plan_node(after, managed, state, values_from)
    assert not again.changed, again.patch  # idempotent: a second run changes nothing


@fast(37)
@given(st.dictionaries(label_key, label_value, min_size=1, max_size=4), st.booleans())
def test_fluid_owned_keys_need_force(labels, force):
    errors = N.validate_labels(labels, "present", force)
    fluid = [k for k in labels if N.is_fluid_key(k)]
    if force or not fluid:
        assert errors == []
    else:
        assert sorted(e.split(":", 1)[0] for e in errors) == sorted("labels[%s]" % k for k in fluid)


@fast(37)
@given(st.builds("{}/{}".format, st.one_of(st.just("fluid.io"), st.builds("{}.fluid.io".format, subdomain)),
                 qualified_name))
def test_fluid_domain_keys_are_fluids(key):
    assert N.is_fluid_key(key)
    assert not N.is_fluid_key(key.replace("fluid.io/", "fluid.io.example.com/"))


@fast(37)
@given(label_map.filter(bool), st.dictionaries(user_label_key, label_value, max_size=3), st.data())
def test_dataset_node_selector_selects_exactly_the_labelled_nodes(selector, other, data):
    item = _item(DS, name="d", mounts=[{"mount_point": "https://example.com/", "name": None}], node_selector=selector)
    required = scheduling.dataset_node_selector(DS.KIND.build(item))
    labelled = dict(other, **{k: V.str_value(v) for k, v in selector.items()})
    assert scheduling.node_matches_selector({"metadata": {"name": "n", "labels": labelled}}, required)
    missing = data.draw(st.sampled_from(sorted(selector)))
    unlabelled = {k: v for k, v in labelled.items() if k != missing}
    assert not scheduling.node_matches_selector({"metadata": {"name": "n", "labels": unlabelled}}, required)


@fast(37)
@given(st.lists(st.dictionaries(user_label_key, label_value, max_size=3), min_size=0, max_size=6),
       st.integers(0, 8), label_map, st.booleans())
def test_expected_workers_bounded_by_replicas_and_eligible_nodes(node_labels, replicas, selector, taint):
    nodes = [{"metadata": {"name": "n%d" % i, "labels": dict(labels, **selector)},
              "spec": {"taints": [{"key": "gpu", "effect": "NoSchedule"}]} if taint and i % 2 else {}}
             for i, labels in enumerate(node_labels)]
    runtime = {"spec": {"replicas": replicas, "worker": {"nodeSelector": selector}}}
    workers, eligible = scheduling.expected_workers(nodes, {"metadata": {"namespace": "ns", "name": "d"}}, runtime)
    assert workers == min(replicas, eligible)
    assert eligible == sum(1 for i in range(len(nodes)) if not (taint and i % 2))
    tolerant = {"metadata": {"namespace": "ns", "name": "d"}, "spec": {"tolerations": [{"operator": "Exists"}]}}
    assert scheduling.expected_workers(nodes, tolerant, runtime)[1] == len(nodes)

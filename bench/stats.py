"""Statistics and Markdown helpers of the benchmark (bench/run.py). Pure functions, unit-tested
in tests/unit/test_bench.py; no timing is asserted anywhere."""
import statistics


def summary(values):
    """median, min, max and n of a list of numbers (None values are dropped); None when empty."""
    vals = [float(v) for v in values if v is not None]
    if not vals:
        return None
    return {"median": statistics.median(vals), "min": min(vals), "max": max(vals), "n": len(vals)}


def median_of(values):
    """The median of the values that are not None, or None."""
    s = summary(values)
    return None if s is None else s["median"]


def ratio(numerator, denominator):
    """numerator / denominator, or None when either is missing or the denominator is 0."""
    if numerator is None or denominator is None or denominator == 0:
        return None
    return float(numerator) / float(denominator)


def fmt(value, unit="s", digits=None):
    """A number for a table: 3 significant-ish digits, '-' for None."""
    if value is None:
        return "-"
    if digits is None:
        digits = 3 if abs(value) < 1 else (2 if abs(value) < 10 else 1)
    return "%.*f%s" % (digits, value, unit)


def fmt_ratio(value):
    if value is None:
        return "-"
    return ("%.3fx" if abs(value) < 0.1 else "%.1fx") % value


def table(headers, rows):
    """A GitHub Markdown table; cells are str()-ed, '|' escaped."""
    def cell(v):
        return str("-" if v is None else v).replace("|", "\\|").replace("\n", " ")
    lines = ["| " + " | ".join(cell(h) for h in headers) + " |",
             "|" + "|".join("---" for _ in headers) + "|"]
    for r in rows:
        if len(r) != len(headers):
            raise ValueError("row has %d cells, table has %d columns: %r" % (len(r), len(headers), r))
        lines.append("| " + " | ".join(cell(c) for c in r) + " |")
    return "\n".join(lines)


def summary_row(name, values, unit="s", reference=None):
    """[name, median, min, max, n, ratio of median to reference's median] for one contender."""
    s = summary(values)
    if s is None:
        return [name, "-", "-", "-", 0, "-"]
    ref = summary(reference) if reference is not None else None
    r = ratio(s["median"], ref["median"]) if ref else None
    return [name, fmt(s["median"], unit), fmt(s["min"], unit), fmt(s["max"], unit), s["n"], fmt_ratio(r)]


def goal(met, text):
    """'met' / 'MISSED' line for RESULTS.md."""
    if met is None:
        return "- not measured: " + text
    return "- %s: %s" % ("met" if met else "**MISSED**", text)

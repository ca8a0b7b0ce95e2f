"""Series born together (``born_together``): a new series is written with its siblings at 0.

The siblings of a series differ only in one declared label and hold another of its listed values
(the ``success``/``failure`` of a tenant's workflow), so the first failure after successes is an
increase Prometheus sees at once (docs/DESIGN.md, "Zero before the first event").
"""


def born_together(name, labelnames, spec):
    """``(label position, values)`` of a ``born_together`` declaration, checked."""
    if not spec:
        return None
    out = []
    for label, values in sorted(dict(spec).items()):
        values = tuple(values)
        if label not in labelnames or len(values) < 2 or len(values) > 16:
            raise ValueError("%s: born_together needs a label of the metric and 2 to 16 values" % name)
        if not all(isinstance(v, str) and v for v in values) or len(set(values)) != len(values):
            raise ValueError("%s: born_together values must be distinct non-empty strings" % name)
        out.append((labelnames.index(label), values))
    return tuple(out)


def siblings_of(together):
    """The function giving the other series born with a series (its label values differ only
    in a ``born_together`` label, and hold one of its values)."""

    def siblings(labelvalues):
        found = []
        for pos, values in together:
            if labelvalues[pos] not in values:
                continue  # an unlisted value is born alone
            for value in values:
                if value != labelvalues[pos]:
                    found.append(labelvalues[:pos] + (value,) + labelvalues[pos + 1 :])
        return found

    return siblings

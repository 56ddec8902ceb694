"""A tiny feature living in the tests: a poll, "tea or coffee?", one vote per person.

The worked example of docs/architecture.md ("Adding a feature"): this package, one line in the
features list, its table and its texts are all it takes.
"""

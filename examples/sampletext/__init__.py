"""Sentence pools for the sample-article generator (``examples/make_samples.py``).

All texts were written for this project; every person and organisation is fictional, the
places are real. One module per language; each exposes the same names (see ``en.py``).
"""

"""``newsstream web``: a read-only search page over the indexed articles.

``query`` turns request parameters into the shared search body (``streams.index.search.build_body``
plus story grouping and aggregations) and Elasticsearch answers into the JSON the API returns;
``svg`` draws the per-day histogram on the server; ``server`` is the aiohttp app around them,
rendering the same JSON through Jinja templates shipped in this package.
"""

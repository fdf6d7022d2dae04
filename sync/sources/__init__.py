"""HR importers: CSV exports and HR REST APIs into the identity store, one run per import.

The modules are imported by name (``sync.sources.importer``...): ``sync.people`` builds on
``sync.sources.validate`` and the importer on ``sync.people``, so this package re-exports
nothing.

*get* -> *transform* -> guard -> *load* and *sweep*:

* ``csv_feed(path, source, mode, CsvOptions, attribute_map)`` and
  ``api_feed(HrApi(client, auth, retry, sleep), ApiSource, mode)`` -> ``Feed``;
  cells holding control characters are rejected while reading (``cells``);
* ``validate_records(records, attribute_map, unit)`` -> ``(candidates, rejects)``;
* the feed guard: ``hold_reasons`` (``guard``: shrink, missing columns, a changed header) and
  ``content_reasons`` (``fit``: columns whose contents no longer fit their names);
* ``import_feed(engine, feed, attribute_map, ImportOptions)`` -> the finished ``Run``
  (succeeded, or held by the feed guard), ``approve_import(engine, run_id, by, ...)``;
* ``load_sources()`` reads the ``[sources]`` of hr2bi.toml; ``PRESETS`` names the vendor presets.

Errors are ``FeedError`` and its subclasses; row problems are ``Reject`` values.
"""

"""What the admin console and the admin API show and do, written once for both.

Each module is one area of the console (overview, runs, people, provisioning log, audit,
mappings, tokens): plain functions over a database session returning JSON-ready values.
``sync.api`` serves them as JSON under ``/api/v1/``; ``sync.console`` renders the same
values as pages. Who may do what is ``access.py``.
"""

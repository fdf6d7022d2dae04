"""The compliance audit log (issue 5, DESIGN.md "Audit log").

Writing it (``log``: events appended in the caller's transaction; ``record`` and
``actors``: what each decision writes, and who it says acted), signing it (``store``,
``checkpoint``, ``consistency``: checkpoints, kept once the log is proven to extend the last
one), and the storage-independent core an auditor relies on offline: canonical JSON (RFC
8785), RFC 6962 Merkle hashing and proofs, export bundles and their views (``views``,
``ocsf``), and ``hr2bi audit verify``. ``ship`` streams the committed events to SIEM
targets (``ship_syslog``: RFC 5424; ``ship_hec``: Splunk HEC), at least once.
"""

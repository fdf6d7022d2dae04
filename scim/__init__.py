"""Inbound SCIM 2.0 service provider (RFC 7643 / RFC 7644).

Knows SCIM and the identity store tables it writes; knows nothing of BI platforms.
"""

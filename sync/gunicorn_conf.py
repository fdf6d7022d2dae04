"""gunicorn settings for the Procfile's web process (``gunicorn -c python:sync.gunicorn_conf``).

Workers, threads, timeout and bind stay on the Procfile's command line, where an operator
tunes them; what is here is what the SCIM endpoint needs from its server.
"""

from sync.serving import MAX_HEADER_FIELD, MAX_HEADER_FIELDS, MAX_REQUEST_LINE

worker_class = "sync.gunicorn_worker.ScimThreadWorker"  # gthread, with SCIM error bodies
logger_class = "sync.gunicorn_worker.RedactingLogger"  # no ?access_token= in the logs

# gunicorn's defaults allow a 4,094-byte request line, too short for the advertised
# 4,096-character filter once it is URL-encoded; 8,190 is the most gunicorn allows.
limit_request_line = MAX_REQUEST_LINE
limit_request_field_size = MAX_HEADER_FIELD
limit_request_fields = MAX_HEADER_FIELDS

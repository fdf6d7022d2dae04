"""Orchestration: the jobs hr2bi runs, as plain functions over an engine and the settings, so
a Celery worker, the command line and the demo run exactly the same code. Each job loads
what it needs (settings, sources, mapping tables) once and passes it down to the services
(:mod:`sync.plan.service`, :mod:`sync.apply.service`, :mod:`sync.sources.importer`).

- :mod:`~sync.jobs.plan_apply` — plan, and apply unless the plan is held or empty;
- :mod:`~sync.jobs.imports` — one configured source's import;
- :mod:`~sync.jobs.nightly` — the nightly sync: every source, then plan and apply;
- :mod:`~sync.jobs.push` — an identity provider's push: queued after the SCIM write,
  coalesced, provisioned per person;
- :mod:`~sync.jobs.on_demand` — ``hr2bi provision PERSON``, every step shown;
- :mod:`~sync.jobs.approve` — approving a held run, routed by its kind;
- :mod:`~sync.jobs.results` — the jobs' typed results, and the one place they become dicts;
- :mod:`~sync.jobs.celery_app` and :mod:`~sync.jobs.tasks` — the Celery app and its thin tasks
  (``celery -A sync.jobs.celery_app worker``).

Nothing is imported here, so ``celery -A sync.jobs.celery_app`` loads only what it needs.
"""

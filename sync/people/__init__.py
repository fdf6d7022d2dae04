"""The identity store's people: one record per person, whatever told us about them.

Imported by module (``sync.people.apply``...); the package re-exports nothing (see
``sync.sources``).

* ``apply_feed(session, run_id, source, full, candidates, seen, attribute_map, Policy)`` folds
  validated HR rows in: links SCIM users (``link_all``), merges by the attribute map's
  precedence, decides the lifecycle (``decide``), records history, marks changed people
  ``dirty`` (their ``content_hash`` moved) and counts absences;
* ``decide(fields, today, lead_days)`` -> ``Standing`` (pre_hire, active, leave, terminated);
* ``list_people`` / ``show_person`` for the commands.

``people.dirty`` is set for every person an import added or changed (merged fields or
lifecycle) and nothing in hr2bi clears it: ``hr2bi people list --dirty`` reads it, the
planner does not (it compares every person in scope with the applied BI state).
``people.fields`` holds the person fields of ``fields.yaml`` as JSON (dates ISO), with
``employment_status`` set to the lifecycle state.
"""

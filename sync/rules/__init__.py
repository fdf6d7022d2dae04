"""Mapping tables: who gets which BI groups, user attributes and connection roles, and why.

The public surface, all pure except the readers in ``source``:

* ``load_tables(files)`` / ``load_dir(path)`` -> ``Tables`` (raises ``TableErrors``);
* ``person_from_hr_row``, ``person_from_scim``, ``person_from_values``, ``person_from_stored``, ``merge_people`` -> ``Person``;
* ``evaluate(person, tables)`` -> ``(DesiredAccount, Explanation)``;
* ``impact(old_tables, new_tables, people)`` -> ``list[PersonImpact]``;
* ``tables_version(files)``; ``read_dir(path)`` and ``read_git(revision, path)`` -> files.

The tables themselves live in ``mappings/``; mappings/README.md documents them for their editors.
"""

from sync.rules.errors import (
    PersonError,
    Problem,
    RulesError,
    TableErrors,
    TableSourceError,
)
from sync.rules.evaluate import DesiredAccount, evaluate
from sync.rules.explain import Explanation, explanation_to_dict
from sync.rules.fields import AttributeMap
from sync.rules.impact import PersonImpact, impact
from sync.rules.loader import load_dir, load_tables
from sync.rules.person import (
    Person,
    merge_people,
    person_from_hr_row,
    person_from_scim,
    person_from_stored,
    person_from_values,
)
from sync.rules.source import read_dir, read_git
from sync.rules.tables import Role, RowRef, Tables
from sync.rules.version import tables_version

__all__ = [
    "AttributeMap", "DesiredAccount", "Explanation", "Person", "PersonError", "PersonImpact",
    "Problem", "Role", "RowRef", "RulesError", "TableErrors", "TableSourceError", "Tables",
    "evaluate", "explanation_to_dict", "impact", "load_dir", "load_tables", "merge_people",
    "person_from_hr_row", "person_from_scim", "person_from_stored", "person_from_values", "read_dir", "read_git",
    "tables_version",
]

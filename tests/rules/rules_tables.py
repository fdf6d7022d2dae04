"""Small literal tables shared by the rules tests (not a conftest: that file is shared)."""

from __future__ import annotations

from pathlib import Path

FIELDS = """\
fields:
  employee_id: {hr: Employee ID}
  user_name: {hr: Email, idp: userName, prefer: idp, transforms: [trim, lower]}
  department: {hr: Department, idp: "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"}
  title: {hr: Title, idp: title}
  location: {hr: Location}
  cost_center: {hr: Cost Center, transforms: [trim, upper]}
  security_level: {type: number, hr: Level, default: 1}
  hire_date: {type: date, hr: Hire Date, transforms: [{date: "%m/%d/%Y"}]}
  status: {hr: Status, default: active}
  idp_groups: {type: list, idp: groups.display}
"""

SCOPE = 'when: status eq "active"\n'

GROUPS = """\
when,group
*,Everyone
department eq "Finance",Finance
department eq "Finance" and location sw "US",Finance US
title co "Analyst",Analysts
idp_groups eq "BI Admins",Admins
hire_date lt "2024-01-01",Veterans
"""

ROLES = """\
when,connection,model,role
*,warehouse,finance,VIEWER
department eq "Finance",warehouse,finance,QUERIER
department eq "Finance" and title co "Analyst",warehouse,finance,MODELER
security_level ge 4,warehouse,finance,QUERIER
idp_groups eq "BI Admins",warehouse,,CONNECTION_ADMIN
"""

ATTRIBUTES = """\
when,attribute,source,value,multi
*,region,lookup,regions(cost_center),
security_level ge 4,clearance,constant,secret,
*,clearance,constant,public,
*,groups,field,idp_groups,yes
department eq "Finance",entities,lookup,entities(location),yes
"""

REGIONS = """\
key,value
CC-100,AMER
CC-200,EMEA
"""

ENTITIES = """\
key,value
US-NYC,Inc
US-NYC,Holdings
GB-LON,Ltd
"""


def table_files(changes: dict[str, str] | None = None) -> dict[str, bytes]:
    """The literal tables as path -> bytes, with ``changes`` replacing (or adding) files."""
    files = {
        "fields.yaml": FIELDS, "scope.yaml": SCOPE, "groups.csv": GROUPS, "roles.csv": ROLES,
        "attributes.csv": ATTRIBUTES, "lookups/regions.csv": REGIONS, "lookups/entities.csv": ENTITIES,
    }
    files.update(changes or {})
    return {path: text.encode() for path, text in files.items()}


def write_tables(directory: Path, changes: dict[str, str] | None = None) -> Path:
    for path, data in table_files(changes).items():
        target = directory / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return directory

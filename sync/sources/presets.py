"""Presets: the response shapes of real HR APIs, so a source needs only its URL and secrets.

A preset is the default configuration of a source; anything the source's own table sets
wins (``[sources.NAME.fields]`` entries are merged over the preset's). Field names are the
HR columns of ``mappings/fields.yaml``; paths are where the vendor puts each value.
"""

from __future__ import annotations

from typing import Any

# BambooHR custom report (POST /api/gateway.php/{company}/v1/reports/custom?format=JSON):
# {"fields": [...], "employees": [{"id": "4", "employeeNumber": "1001", ...}]}.
# Empty dates come as "0000-00-00". Auth: HTTP Basic, the API key as user, any password.
_BAMBOO_FIELDS = {
    "Employee ID": "employeeNumber",
    "Work Email": "workEmail",
    "Preferred First Name": "preferredName",
    "Legal First Name": "firstName",
    "Last Name": "lastName",
    "Department": "department",
    "Job Title": "jobTitle",
    "Location": "location",
    "Manager ID": "supervisorId",
    "Worker Status": "status",
    "Worker Type": "employmentHistoryStatus",
    "Hire Date": "hireDate",
    "Termination Date": "terminationDate",
}

PRESETS: dict[str, dict[str, Any]] = {
    "bamboohr-custom-report": {
        "method": "POST",
        "params": {"format": "JSON", "onlyCurrent": "false"},
        "headers": {"Accept": "application/json"},
        "body": {"fields": sorted(set(_BAMBOO_FIELDS.values()))},
        "records_path": "employees",
        "null_values": ["0000-00-00"],
        "auth": {"type": "basic", "password": "x"},
        "fields": _BAMBOO_FIELDS,
        "optional_columns": ["Cost Center", "Security Level"],
    },
    # BambooHR employee directory (GET .../v1/employees/directory): fewer fields — no
    # employee number, manager, status or dates — so those columns are optional here.
    "bamboohr-directory": {
        "headers": {"Accept": "application/json"},
        "records_path": "employees",
        "auth": {"type": "basic", "password": "x"},
        "fields": {"Employee ID": "id", "Work Email": "workEmail", "Preferred First Name": "preferredName",
                   "Legal First Name": "firstName", "Last Name": "lastName", "Department": "department",
                   "Job Title": "jobTitle", "Location": "location"},
        "optional_columns": ["Cost Center", "Security Level", "Manager ID", "Worker Status", "Worker Type",
                             "Hire Date", "Termination Date"],
    },
    # Workday Report-as-a-Service (GET .../ccx/service/customreport2/{tenant}/{owner}/{report}):
    # {"Report_Entry": [{"Employee_ID": "21001", ...}]}. Field names are the report's column
    # aliases: name them as below, or override them under [sources.NAME.fields].
    "workday-raas": {
        "params": {"format": "json"},
        "records_path": "Report_Entry",
        "fields": {
            "Employee ID": "Employee_ID", "Work Email": "Work_Email",
            "Preferred First Name": "Preferred_First_Name", "Legal First Name": "Legal_First_Name",
            "Last Name": "Last_Name", "Department": "Department", "Job Title": "Business_Title",
            "Location": "Location", "Cost Center": "Cost_Center", "Manager ID": "Manager_Employee_ID",
            "Worker Status": "Worker_Status", "Worker Type": "Worker_Type", "Hire Date": "Hire_Date",
            "Termination Date": "Termination_Date",
        },
        "optional_columns": ["Security Level"],
    },
}


def with_preset(name: str | None, table: dict[str, Any]) -> dict[str, Any]:
    """The source's table over its preset's defaults (nested tables merged one level)."""
    if name is None:
        return table
    merged = dict(PRESETS[name])
    for key, value in table.items():
        base = merged.get(key)
        merged[key] = {**base, **value} if isinstance(base, dict) and isinstance(value, dict) else value
    return merged

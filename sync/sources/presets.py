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
# Current values only: onlyCurrent=false would bring history fields' future-dated values
# (a transfer effective next month would be applied today). The manager is
# ``supervisorEId``, the supervisor's employee number, which is what people are keyed on;
# ``supervisorId`` is BambooHR's internal id and would match nobody.
_BAMBOO_FIELDS = {
    "Employee ID": "employeeNumber",
    "Work Email": "workEmail",
    "Preferred First Name": "preferredName",
    "Legal First Name": "firstName",
    "Last Name": "lastName",
    "Department": "department",
    "Job Title": "jobTitle",
    "Location": "location",
    "Manager ID": "supervisorEId",
    "Worker Status": "status",
    "Worker Type": "employmentHistoryStatus",
    "Hire Date": "hireDate",
    "Termination Date": "terminationDate",
}

# HiBob: POST /v1/people/search returns every employee in one answer (no paging), root
# fields at the top level ("id", "email"), the others under their section ("work"). With
# humanReadable=APPEND, list values (a department's id) get their display names under
# "humanReadable"; ids and ISO dates are read from the machine values. showInactive brings
# leavers too, so a termination is seen rather than a person silently missing. People are
# keyed on the company employee number (employeeIdInCompany) and managers on the same number
# (reportsToIdInCompany), not on Bob's backend ids.
_HIBOB_FIELDS = {
    "Employee ID": "work.employeeIdInCompany",
    "Work Email": "email",
    "Legal First Name": "firstName",
    "Last Name": "surname",
    "Department": "humanReadable.work.department",
    "Job Title": "humanReadable.work.title",
    "Location": "humanReadable.work.site",
    "Manager ID": "work.reportsToIdInCompany",
    "Worker Status": "humanReadable.internal.status",
    "Hire Date": "work.startDate",
    "Termination Date": "internal.terminationDate",
}
_HIBOB_REQUEST = ["root.id", "root.email", "root.firstName", "root.surname", "work.employeeIdInCompany",
                  "work.department", "work.title", "work.site", "work.reportsToIdInCompany", "work.startDate",
                  "internal.status", "internal.terminationDate"]

PRESETS: dict[str, dict[str, Any]] = {
    "bamboohr-custom-report": {
        "method": "POST",
        "params": {"format": "JSON"},
        "headers": {"Accept": "application/json"},
        "records_path": "employees",
        "null_values": ["0000-00-00"],
        "auth": {"type": "basic", "password": "x"},
        "fields": _BAMBOO_FIELDS,
        "optional_columns": ["Cost Center", "Security Level"],
    },
    # BambooHR datasets (POST /api/v1/datasets/employee, the successor of custom reports):
    # {"data": [...], "pagination": {"total_records": 250, "next_page": "...", ...}}.
    # Current values unless the body asks for history (show_history), which it does not.
    "bamboohr-datasets": {
        "method": "POST",
        "headers": {"Accept": "application/json"},
        "records_path": "data",
        "paging": {"type": "next_link", "next_path": "pagination.next_page",
                   "total_path": "pagination.total_records"},
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
    # Workday REST (GET https://{host}/ccx/api/v1/{tenant}/workers): {"total": 250,
    # "data": [{"id": WID, "workerId": "21001", "descriptor": "Logan McNeil", ...}]}, at
    # most 100 a page (limit/offset). An integration's API client authenticates with a
    # refresh token (token_url https://{host}/ccx/oauth2/{tenant}/token). The resource has
    # no manager, status, dates or split names: use the RaaS preset when the tables need them.
    "workday-rest": {
        "headers": {"Accept": "application/json"},
        "records_path": "data",
        "paging": {"type": "offset", "size": 100, "offset_param": "offset", "limit_param": "limit",
                   "total_path": "total"},
        "auth": {"type": "oauth2", "grant": "refresh_token"},
        "fields": {
            "Employee ID": "workerId", "Work Email": "primaryWorkEmail", "Job Title": "businessTitle",
            "Department": "primarySupervisoryOrganization.descriptor", "Location": "location.descriptor",
            "Worker Type": "workerType.descriptor",
        },
        "optional_columns": ["Preferred First Name", "Legal First Name", "Last Name", "Cost Center",
                             "Security Level", "Manager ID", "Worker Status", "Hire Date", "Termination Date"],
    },
    "hibob": {
        "method": "POST",
        "headers": {"Accept": "application/json"},
        "body": {"fields": _HIBOB_REQUEST, "showInactive": True, "humanReadable": "APPEND"},
        "records_path": "employees",
        # A service user's id and token, as HTTP Basic.
        "auth": {"type": "basic"},
        "fields": _HIBOB_FIELDS,
        "optional_columns": ["Preferred First Name", "Cost Center", "Security Level", "Worker Type"],
    },
}

# Presets whose request names the vendor fields to send back: the body's list is made from
# the field paths in force, so a field added under [sources.NAME.fields] is asked for too.
_FIELDS_IN_BODY = {"bamboohr-custom-report": "fields", "bamboohr-datasets": "fields"}


def with_preset(name: str | None, table: dict[str, Any]) -> dict[str, Any]:
    """The source's table over its preset's defaults (nested tables merged one level)."""
    if name is None:
        return table
    merged = dict(PRESETS[name])
    for key, value in table.items():
        base = merged.get(key)
        merged[key] = {**base, **value} if isinstance(base, dict) and isinstance(value, dict) else value
    body_key = _FIELDS_IN_BODY.get(name)
    if body_key and "body" not in table:
        paths = sorted({str(path) for path in merged.get("fields", {}).values()})
        merged["body"] = {body_key: paths}
    return merged

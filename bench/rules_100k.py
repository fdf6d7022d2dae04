"""Benchmark: evaluate 100,000 synthetic people against mapping tables of 500 rules.

    .venv/bin/python bench/rules_100k.py [--people 100000] [--rules 500] [--tracemalloc]

Prints people per second for ``evaluate`` (account + explanation; CPU time of this one
process, so it is per core) and peak memory: the process's peak RSS always, and with
``--tracemalloc`` the Python allocations of tables and people and what evaluation adds on
top (tracemalloc slows everything down, so it runs after the timed run, on a fresh copy).
Target: all 100,000 people in under 5 seconds on one core.
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sync.rules import Person, Tables, evaluate, load_tables, person_from_values

DEPARTMENTS = [f"Dept {i:02d}" for i in range(40)]
TITLES = [f"{level} {job}" for level in ("Junior", "Senior", "Lead", "Principal")
          for job in ("Analyst", "Engineer", "Manager", "Designer", "Accountant", "Recruiter", "Seller", "Director")]
LOCATIONS = ["US-NYC", "US-SFO", "US-AUS", "GB-LON", "DE-BER", "FR-PAR", "IN-BLR", "SG-SIN", "JP-TYO", "BR-SAO"]
COST_CENTERS = [f"CC-{i:04d}" for i in range(200)]
IDP_GROUPS = [f"IdP Group {i:02d}" for i in range(60)]
ROLES = ["VIEWER", "RESTRICTED_QUERIER", "QUERIER", "MODELER"]

FIELDS = """\
fields:
  employee_id: {hr: Employee ID}
  user_name: {hr: Email}
  department: {hr: Department}
  title: {hr: Title}
  location: {hr: Location}
  cost_center: {hr: Cost Center}
  security_level: {type: number, hr: Level, default: 1}
  employment_type: {hr: Type, default: employee}
  employment_status: {hr: Status, default: active}
  hire_date: {type: date, hr: Hire Date}
  idp_groups: {type: list, idp: groups.display}
"""
SCOPE = 'when: employment_status eq "active"\n'


def group_rows(rng: random.Random, count: int) -> list[str]:
    """Mostly ``field eq "value"`` rows, as real tables are, plus some that need a scan."""
    rows = ["*,Everyone"]
    for i in range(count - 1):
        kind = i % 10
        if kind < 4:
            rows.append(f'department eq "{rng.choice(DEPARTMENTS)}",Group D{i}')
        elif kind < 6:
            rows.append(f'department eq "{rng.choice(DEPARTMENTS)}" and location sw "{rng.choice(LOCATIONS)[:2]}",Group DL{i}')
        elif kind < 8:
            rows.append(f'idp_groups eq "{rng.choice(IDP_GROUPS)}",Group G{i}')
        elif kind == 8:
            rows.append(f'location eq "{rng.choice(LOCATIONS)}" or cost_center eq "{rng.choice(COST_CENTERS)}",Group O{i}')
        else:
            rows.append(f'title co "{rng.choice(TITLES).split()[1]}" and security_level ge {rng.randint(1, 5)},Group T{i}')
    return rows


def role_rows(rng: random.Random, count: int) -> list[str]:
    rows = ["*,warehouse,company,VIEWER", 'idp_groups eq "IdP Group 00",warehouse,,CONNECTION_ADMIN']
    seen: set[tuple[str, str]] = set()
    while len(rows) < count:
        i = len(rows)
        model = f"model_{i % 30}"
        condition = (f'department eq "{rng.choice(DEPARTMENTS)}"' if i % 5 else
                     f'title sw "{rng.choice(TITLES).split()[0]}" and hire_date lt "202{rng.randint(0, 5)}-01-01"')
        if (condition, model) not in seen:  # one role per condition and model, as check demands
            seen.add((condition, model))
            rows.append(f"{condition},warehouse,{model},{rng.choice(ROLES)}")
    return rows


def attribute_rows(count: int) -> list[str]:
    rows = ["*,region,lookup,regions(cost_center),", "*,groups,field,idp_groups,yes",
            "security_level ge 4,clearance,constant,secret,", "*,clearance,constant,public,"]
    for i in range(count - len(rows)):
        rows.append(f'department eq "{DEPARTMENTS[i % len(DEPARTMENTS)]}",dept_scope_{i // len(DEPARTMENTS)},'
                    f"constant,scope-{i},")
    return rows


def build_tables(rng: random.Random, rules: int) -> Tables:
    groups, roles = rules // 2, rules * 3 // 10
    attributes = rules - groups - roles
    files = {
        "fields.yaml": FIELDS, "scope.yaml": SCOPE,
        "groups.csv": "\n".join(["when,group", *group_rows(rng, groups)]) + "\n",
        "roles.csv": "\n".join(["when,connection,model,role", *role_rows(rng, roles)]) + "\n",
        "attributes.csv": "\n".join(["when,attribute,source,value,multi", *attribute_rows(attributes)]) + "\n",
        "lookups/regions.csv": "key,value\n" + "".join(f"{cc},R{i % 7}\n" for i, cc in enumerate(COST_CENTERS)),
    }
    return load_tables({path: text.encode() for path, text in files.items()})


def build_people(rng: random.Random, count: int, tables: Tables) -> list[Person]:
    amap = tables.attribute_map
    return [person_from_values({
        "employee_id": str(n), "user_name": f"person{n}@example.com",
        "department": rng.choice(DEPARTMENTS), "title": rng.choice(TITLES), "location": rng.choice(LOCATIONS),
        "cost_center": rng.choice(COST_CENTERS), "security_level": rng.randint(1, 5),
        "employment_type": "contractor" if rng.random() < 0.1 else "employee",
        "employment_status": "terminated" if rng.random() < 0.05 else "active",
        "hire_date": f"20{rng.randint(10, 25)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
        "idp_groups": rng.sample(IDP_GROUPS, rng.randint(0, 4)),
    }, amap) for n in range(count)]


def evaluate_all(people: list[Person], tables: Tables) -> int:
    granted = 0
    for person in people:
        account, _ = evaluate(person, tables)
        granted += len(account.groups) + len(account.roles) + len(account.attributes)
    return granted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--rules", type=int, default=500)
    parser.add_argument("--tracemalloc", action="store_true", help="also measure peak Python allocations")
    args = parser.parse_args()
    rng = random.Random(20251123)
    started = time.perf_counter()
    tables = build_tables(rng, args.rules)
    rule_count = len(tables.groups) + len(tables.roles) + len(tables.attributes)
    people = build_people(rng, args.people, tables)
    index = tables.index
    print(f"setup: {rule_count} rules ({sum(len(t) for t in index.keyed.values())} index entries, "
          f"{len(index.guards)} guards over {sum(len(g.positions) for g in index.guards)} rules, "
          f"{len(index.scan)} tested one by one), "
          f"{len(people):,} people in {time.perf_counter() - started:.1f} s")
    started, cpu_started = time.perf_counter(), time.process_time()
    granted = evaluate_all(people, tables)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    print(f"evaluate: {len(people):,} people in {elapsed:.2f} s wall, {cpu:.2f} s CPU (one core) = "
          f"{len(people) / cpu:,.0f} people/s ({granted / len(people):.1f} grants per person)")
    print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB (whole process)")
    if args.tracemalloc:
        del people
        measure_allocations(args)


def measure_allocations(args: argparse.Namespace) -> None:
    """Python allocations of the tables and people, then the peak evaluation adds on top."""
    tracemalloc.start()
    rng = random.Random(20251123)
    tables = build_tables(rng, args.rules)
    people = build_people(rng, args.people, tables)
    held, _ = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    evaluate_all(people, tables)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"tracemalloc: tables + people {held / 2**20:.1f} MiB; evaluation peaks "
          f"{(peak - held) / 2**20:.2f} MiB above that (results are not kept)")


if __name__ == "__main__":
    main()

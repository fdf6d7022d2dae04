"""Issue 16's acceptance in a real browser: chromium against ``hr2bi serve``, signed in
through a real OpenID provider. Signed out, only the sign-in page; a viewer sees a held
run but no approve button, and a direct POST is refused; the approver's journey: find the
held plan, review (search) its changes, approve it with a comment, see it applied, explain
why a person has a role, find the approval in the audit trail and download a bundle that
``hr2bi audit verify`` accepts; an approver gets no tokens. An admin sees every page,
provisions one person on demand and makes and revokes a token.

The tests share one served world (module scope) and run in this order: the viewer looks at
the held run before the approver approves it."""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from browser_world import (
    CONTRACTOR,
    MAPPINGS,
    Console,
    csrf_of,
    push_contractor,
    sign_in,
)
from playwright.sync_api import Page, expect
from servers import hr2bi

pytestmark = pytest.mark.slow
Shot = Callable[[str], Path]
# The navigation bar's links (an admin sees them all) and each page's heading.
NAV = [("Overview", "Overview"), ("Runs", "Runs"), ("People", "People"),
       ("Provisioning log", "Provisioning log"), ("Provision", "Provision on demand"),
       ("Audit", "Audit"), ("Mappings", "Mappings"), ("Tokens", "Tokens")]


def test_signed_out_only_the_signin_page(page: Page, console: Console, shot: Shot) -> None:
    for path in ("/console/", f"/console/runs/{console.held_run}", "/console/people?q=a",
                 "/console/audit", "/console/tokens", "/console/audit/bundle"):
        page.goto(f"{console.url}{path}")
        expect(page).to_have_url(re.compile(r"/console/signin"))
        expect(page.locator("h1")).to_have_text("Sign in to hr2bi")
    shot("signed out")
    assert page.request.get(f"{console.url}/api/v1/runs").status == 401


def test_a_viewer_sees_the_held_run_but_cannot_approve_it(page: Page, console: Console, shot: Shot) -> None:
    sign_in(page, console, "viewer@example.com", shot)
    page.goto(f"{console.url}/console/runs/{console.held_run}")
    expect(page.locator("#changes")).to_be_visible()
    shot("held run as viewer")
    expect(page.locator("#approve")).to_have_count(0)
    approve = f"{console.url}/console/runs/{console.held_run}/approve"
    refused = page.request.post(approve, form={"csrf_token": csrf_of(page), "comment": "looks fine"})
    assert refused.status == 403, refused.text()
    # A form without the session's CSRF token is refused before anything else.
    no_token = page.request.post(approve, form={"comment": "looks fine"})
    assert no_token.status == 400 and "CSRF" in no_token.text()


def test_the_approver_reviews_and_approves_the_held_plan_explains_a_role_and_audits_it(
        page: Page, console: Console, shot: Shot, tmp_path: Path) -> None:
    sign_in(page, console, "approver@example.com", shot)
    _no_tokens_for_an_approver(page, console, shot)
    _review_and_approve(page, console, shot)
    _explain_a_role(page, console, shot)
    _audit_the_approval(page, console, shot, tmp_path)


def _review_and_approve(page: Page, console: Console, shot: Shot) -> None:
    page.get_by_role("link", name="Runs", exact=True).click()
    expect(page).to_have_url(re.compile(r"/console/runs"))
    page.locator("#filter-status").select_option("held")  # the filters: only held runs
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"status=held"))
    held = page.locator('tr[data-status="held"]')
    expect(held).to_have_count(1)
    expect(held).to_have_attribute("data-run", str(console.held_run))
    shot("held runs")
    held.locator(f'a[href="/console/runs/{console.held_run}"]').click()
    expect(page.locator("#changes")).to_contain_text("user.deactivate")
    shot("held run")
    # Review: search the changes for one leaver, then only the deactivations.
    search = page.locator('input[name="q"]')
    search.fill(console.leaver)
    search.press("Enter")
    expect(page.locator("#changes tbody tr")).to_have_count(1)
    expect(page.locator("#changes")).to_contain_text(console.leaver)
    shot("changes searched")
    page.goto(f"{console.url}/console/runs/{console.held_run}?kind=user.deactivate")
    expect(page.locator("#changes")).to_contain_text("user.deactivate")
    shot("deactivations")
    page.locator('#decision [name="comment"]').fill("Reviewed with HR: the layoffs are real.")
    page.locator("#approve").click()
    expect(page.locator(".flash")).to_contain_text(re.compile(rf"Run {console.held_run} approved and applied: \d+ applied, 0 failed"))
    expect(page.locator("#run-status")).to_have_text("approved")
    expect(page.locator("#approved-by")).to_contain_text("approver@example.com")
    expect(page.locator("#approve")).to_have_count(0)
    shot("approved and applied")


def _no_tokens_for_an_approver(page: Page, console: Console, shot: Shot) -> None:
    """Tokens are for admins: no link, a 403 page, and a direct POST is refused."""
    expect(page.locator("header nav")).not_to_contain_text("Tokens")
    answer = page.goto(f"{console.url}/console/tokens")
    assert answer is not None and answer.status == 403
    expect(page.locator("h1")).to_have_text("Not allowed")
    shot("tokens refused")
    made = page.request.post(f"{console.url}/console/tokens",
                             form={"csrf_token": csrf_of(page), "name": "approver-made", "scope": "admin"})
    assert made.status == 403, made.text()


def _explain_a_role(page: Page, console: Console, shot: Shot) -> None:
    person = console.person
    page.get_by_role("link", name="People", exact=True).click()
    search = page.locator('input[name="q"]')
    search.fill(person["Last Name"])
    search.press("Enter")
    row = page.locator("#people tbody tr", has_text=person["Work Email"])
    expect(row).to_have_count(1)
    shot("people searched")
    row.locator("a").first.click()
    expect(page.locator("h1#person")).to_contain_text(person["Work Email"])
    # Their finance role, explained by the mapping row that gives it and the input value.
    role = page.locator('#why tr[data-kind="role"][data-name="warehouse/finance"]')
    expect(role).to_contain_text("QUERIER")
    why = role.locator('[data-testid="why-row"]', has_text='department eq "Finance"')
    expect(why).to_contain_text(re.compile(r"roles\.csv:\d+"))
    expect(why).to_contain_text('department="Finance"')
    shot("person explained")


def _audit_the_approval(page: Page, console: Console, shot: Shot, tmp_path: Path) -> None:
    page.get_by_role("link", name="Audit", exact=True).click()
    actor = page.locator('input[name="actor"]')
    actor.fill("console:approver@example.com")
    actor.press("Enter")
    expect(page).to_have_url(re.compile(r"actor=console%3Aapprover%40example\.com|actor=console:approver"))
    expect(page.locator("#events")).to_contain_text("run.approve")
    shot("audit by actor")
    with page.expect_download() as download:
        page.locator("#download-bundle").click()
    bundle = tmp_path / "audit-bundle.zip"
    download.value.save_as(bundle)
    shot("bundle downloaded")
    verified = subprocess.run(hr2bi("audit", "verify", str(bundle), "--public-key", str(console.public_key),
                                    "--trusted", str(tmp_path / "none.txt")),
                              env=console.env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert verified.stdout.startswith("OK: events 1..") and "signature verified" in verified.stdout


def test_an_admin_sees_every_page_provisions_one_person_and_manages_tokens(
        page: Page, console: Console, shot: Shot) -> None:
    push_contractor(console)
    sign_in(page, console, "admin@example.com", shot)
    for label, heading in NAV:
        page.locator("header nav").get_by_role("link", name=label, exact=True).click()
        expect(page.locator("h1").first).to_contain_text(heading)
        # A template reading a dict's key that is also a method name shows the method.
        expect(page.locator("main")).not_to_contain_text(re.compile(r"<built-in method|object at 0x"))
        shot(label)
    _the_push_landed(page, console, shot)
    _preview_a_table_change(page, console, shot)
    page.goto(f"{console.url}/console/audit/checkpoints")
    expect(page.locator("#checkpoints")).to_be_visible()
    shot("checkpoints")

    # Provision on demand, as a dry run: each step of one person's provisioning shown.
    page.goto(f"{console.url}/console/provision")
    page.locator("#person").fill(console.person["Employee ID"])
    page.locator("#dry_run").check()
    page.locator("#provision").click()
    expect(page.locator("#provision-result")).to_be_visible()
    expect(page.locator("#sources-read")).to_contain_text(console.person["Employee ID"])
    shot("provisioned on demand")

    # A token made in the console works on the API until it is revoked there.
    page.goto(f"{console.url}/console/tokens")
    form = page.locator("#create-token")
    form.locator('[name="name"]').fill("browser-made")
    form.locator('[name="scope"]').select_option("viewer")
    form.locator("#create").click()
    secret = page.locator("#secret").first.text_content() or ""
    assert secret.startswith("hr2bi_")
    shot("token created")
    whoami = f"{console.url}/api/v1/whoami"
    bearer = {"Authorization": f"Bearer {secret}"}
    me = page.request.get(whoami, headers=bearer)
    assert me.status == 200 and me.json()["name"] == "token:browser-made", me.text()
    row = page.locator('#tokens tr[data-name="browser-made"]')
    page.once("dialog", lambda dialog: dialog.accept())  # a confirm() before revoking, if any
    row.locator('[data-testid="revoke"]').click()
    expect(page.locator('#tokens tr[data-name="browser-made"]')).to_contain_text("revoked")
    assert secret not in page.content()  # shown once, never again
    shot("token revoked")
    assert page.request.get(whoami, headers=bearer).status == 401


def _the_push_landed(page: Page, console: Console, shot: Shot) -> None:
    """The provisioning log: the IdP's SCIM write, which token made it, the run it caused
    and its BI call, done (the push is provisioned within seconds)."""
    write = page.locator("#requests tbody tr", has_text=CONTRACTOR)
    deadline = time.monotonic() + 30
    while True:
        page.goto(f"{console.url}/console/provisioning")
        if write.count() and (write.first.locator('[data-testid="landed"]').text_content() or "").strip().startswith("done"):
            break
        assert time.monotonic() < deadline, f"the push did not land:\n{console.log_tail()}"
        time.sleep(0.5)
    expect(write.first).to_contain_text("okta-browser")
    expect(write.first).to_contain_text("user.create")
    write.first.locator("details summary").click()
    expect(write.first.locator("table.changes")).to_contain_text(CONTRACTOR)
    shot("provisioning log")


def _preview_a_table_change(page: Page, console: Console, shot: Shot) -> None:
    """Mappings: paste roles.csv with Finance's QUERIER row made VIEWER; the preview says
    who would lose what, before anything is changed."""
    finance = 'department eq "Finance",warehouse,finance,'
    proposed = (MAPPINGS / "roles.csv").read_text(encoding="utf-8").replace(finance + "QUERIER", finance + "VIEWER")
    assert finance + "VIEWER" in proposed
    page.goto(f"{console.url}/console/mappings")
    form = page.locator("#impact-form")
    form.locator('[name="path"]').fill("roles.csv")
    form.locator('[name="text"]').fill(proposed)
    form.locator("#preview").click()
    expect(page.locator("#impact")).to_contain_text("roles.csv")
    expect(page.locator("#impact-people")).to_contain_text("QUERIER → VIEWER")
    shot("impact preview")


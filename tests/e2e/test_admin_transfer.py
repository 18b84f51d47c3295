"""Import & export in Chromium without Shopify's CDN: download with the token, check a file, import it, undo it."""
from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

DEMO_CSV = "customer_id,email,points,note\n1001,,2000,Balance from our old program\n,lars@example.com,500,\n"


def _api(admin: Any, method: str, path: str) -> Any:
    return admin.page.evaluate("([m, p]) => LoyaltyAdmin.api(m, p).then(r => r.data)", [method, path])


def import_csv_dry_run_apply_undo(admin: Any, csv_text: str, artifacts: Path | None = None) -> dict[str, Any]:
    """On /admin/transfer: check ``csv_text`` (the per-row table), import it, then undo it; returns the import.

    Saves ``import-dry-run.png`` and ``import-applied.png`` into ``artifacts`` when given. The file
    must be one without row errors.
    """
    page = admin.page
    admin.open("/admin/transfer")
    earlier = _api(admin, "GET", "/admin/api/imports")
    page.set_input_files("#import-file", files=[{"name": "balances.csv", "mimeType": "text/csv",
                                                 "buffer": csv_text.encode()}])
    page.click("#import-check")
    page.wait_for_selector("#import-result:not([hidden]) #import-rows tbody tr")
    assert page.locator("#import-rows tr.row-error").count() == 0
    if artifacts is not None:
        page.screenshot(path=str(artifacts / "import-dry-run.png"), full_page=True)
    assert _api(admin, "GET", "/admin/api/imports") == earlier  # the check changed nothing

    with page.expect_navigation():
        page.click("#import-apply")
    page.wait_for_selector("html[data-ready] .import-banner")
    record = _api(admin, "GET", "/admin/api/imports")[0]
    assert page.locator(f"#imports tr[data-import='{record['id']}'].highlight").count() == 1
    if artifacts is not None:
        page.screenshot(path=str(artifacts / "import-applied.png"), full_page=True)

    page.once("dialog", lambda dialog: dialog.accept())
    with page.expect_navigation():
        page.click(f"#imports tr[data-import='{record['id']}'] button")
    page.wait_for_selector("html[data-ready]")
    row = page.locator(f"#imports tr[data-import='{record['id']}']")
    assert row.locator("button").count() == 0 and row.locator("s-badge").count() == 1
    return _api(admin, "GET", f"/admin/api/imports/{record['id']}")


def _members(admin: Any) -> dict[str, dict[str, str]]:
    text = _api(admin, "GET", "/admin/api/exports/members.csv")
    return {row["customer_id"]: row for row in csv.DictReader(io.StringIO(text))}


def test_import_check_apply_undo_and_export_in_the_browser(admin, artifacts):
    admin.open("/admin/transfer")
    before = _members(admin)
    page = admin.page
    with page.expect_download() as download:
        page.click("#export-members")
    saved = Path(download.value.path()).read_text()
    assert saved.startswith("customer_id,email,first_name") and "kari@example.com" in saved

    # A file with an error shows the error on its row and imports nothing.
    page.set_input_files("#import-file", files=[{"name": "bad.csv", "mimeType": "text/csv",
                                                 "buffer": b"customer_id,points\n1001,ten\n"}])
    page.click("#import-apply")
    page.wait_for_selector("#import-rows tr.row-error")
    assert "not a whole number" in page.locator("#import-rows tr.row-error").inner_text()
    assert page.locator(".notice.notice-error").is_visible()

    record = import_csv_dry_run_apply_undo(admin, DEMO_CSV, artifacts)
    assert [(e["customer_id"], e["after"]) for e in record["entries"]] == [(1001, 2000), (1002, 500)]
    assert record["undone_at"] is not None
    after = _members(admin)
    assert {c: after[c]["balance"] for c in ("1001", "1002")} == {c: before[c]["balance"] for c in ("1001", "1002")}


def test_the_dry_run_table_reads_in_norwegian(admin, artifacts):
    admin.open("/admin/transfer", locale="nb")
    page = admin.page
    page.set_input_files("#import-file", files=[{"name": "b.csv", "mimeType": "text/csv",
                                                 "buffer": b"customer_id,points\n1001,1500\n1099,10\n"}])
    page.click("#import-check")
    page.wait_for_selector("#import-rows tbody tr")
    cells = page.locator("#import-rows tbody tr").nth(0).locator("td").all_inner_texts()
    assert cells[4].startswith("+") and cells[5] == "1\u00a0500"
    assert "nytt medlem" in page.locator("#import-rows tbody tr").nth(1).inner_text()
    assert "Ingenting er endret ennå" in page.locator("#import-summary").inner_text()

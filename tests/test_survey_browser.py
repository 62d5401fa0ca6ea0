"""End to end in Chromium: an editor issues a link, the provider answers on a phone-sized
screen, the editor approves, and the professional finder shows the new capability with
today's confirmation date."""

from __future__ import annotations

import pytest
from conftest import browser_login, make_app, serve_app
from survey_support import add_provider, record

from mapsvc.core.models import utcnow
from mapsvc.core.staleness import confirmation_badge, confirmed_date
from mapsvc.core.users import add_user
from mapsvc.core.visibility import reduce_record

PASSWORD = "correct horse battery"


@pytest.mark.browser
def test_editor_issues_link_provider_answers_editor_approves(browser, sqlite_services):
    services = sqlite_services
    uid = add_provider(
        services,
        "E2E",
        name="瓦町在宅クリニック",
        capabilities={"ventilator": {"level": "no"}},
    )
    with services.store.session() as session:
        add_user(session, "editor1", PASSWORD, "editor")
    app = make_app(services, INDEX_REFRESH_SECONDS=0)
    with serve_app(app) as base:
        # 1. the editor logs in and issues a link from the provider list
        editor = browser.new_context()
        page = editor.new_page()
        browser_login(page, base, "editor1")
        page.wait_for_url(f"{base}/admin/")
        page.goto(f"{base}/admin/providers?q=瓦町")
        page.click(f"button[data-issue='{uid}']")
        link = page.locator("a.issued-link").first
        url = link.get_attribute("href")
        assert url and url.startswith(f"{base}/survey/")

        # 2. the provider opens it on a phone, without an account, and answers
        phone = browser.new_context(viewport={"width": 390, "height": 844}, locale="ja-JP")
        form = phone.new_page()
        form.goto(url)
        assert form.locator("h1").inner_text() == "瓦町在宅クリニック"
        ventilator = form.locator("fieldset#f-capabilities-ventilator")
        assert ventilator.locator("input[value=no]").is_checked()
        ventilator.get_by_text("受入", exact=True).click()
        assert ventilator.locator("input[value=accept]").is_checked()
        form.fill("#f-respondent-name", "瓦町 花子")
        form.fill("#f-respondent-title", "院長")
        # the page fits a phone: no horizontal scrolling
        assert form.evaluate("document.documentElement.scrollWidth") <= 390
        form.get_by_role("button", name="送信する").click()
        form.wait_for_url(f"{url}/thanks")
        assert "ご回答ありがとうございました" in form.content()
        assert record(services, uid)["capabilities"]["ventilator"] == {"level": "no"}

        # 3. the editor sees the diff and approves it
        page.goto(f"{base}/admin/review")
        row = page.locator("table.diff tr", has_text="人工呼吸器")
        assert row.locator("td.before").inner_text() == "不可"
        assert row.locator("td.after").inner_text() == "受入"
        assert "瓦町 花子（院長）" in page.locator("article.submission h3").inner_text()
        page.get_by_role("button", name="承認して反映").click()
        page.wait_for_load_state()
        assert "承認し" in page.locator(".flash").inner_text()

        # 4. the professional finder shows the new capability, confirmed today
        today = confirmed_date({"confirmed_at": utcnow()}).isoformat()
        page.goto(f"{base}/pro/")
        # the point the patient lives at (what a click on the map sets)
        page.evaluate(
            "([lon, lat]) => { document.getElementById('point-lon').value = lon;"
            " document.getElementById('point-lat').value = lat; }",
            [134.0470, 34.3405],
        )
        page.select_option("#cap-ventilator", "accept")
        page.click("#finder-submit")
        page.wait_for_selector("#finder-results")
        row = page.locator(f"#finder-results li[data-uid='{uid}']")
        assert row.count() == 1
        text = row.text_content()  # details (最終確認日) sit in the closed disclosure
        assert "瓦町在宅クリニック" in text
        assert "人工呼吸器" in text and "受入" in text
        assert f"最終確認日 {today}" in text
        # and so does the record itself
        rec = record(services, uid)
        pro = reduce_record(rec, "professional", services.taxonomy)
        assert pro["capabilities"]["ventilator"] == {"level": "accept"}
        badge = confirmation_badge(rec, utcnow(), services.config)
        assert badge["date"] == today and badge["state"] == "confirmed"
        assert rec["confirmed_by"] == "editor1"
        phone.close()
        editor.close()

"""The admin in a real browser: log in, list orders, filter by status, open an order, and
enter a phone order.

Drives Debian's Chromium through Playwright against pytest-django's live server (which also
serves the admin's static files). Skips when Chromium or Playwright is missing, unless
OMS_REQUIRE_BROWSER=1 (as in CI), where a missing browser is a failure.
"""

import os
import re
import shutil

import pytest

from orders.states import OrderStatus
from tests.factories import OrderFactory

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _browser_missing_reason() -> str | None:
    if not (os.path.exists(CHROMIUM) and shutil.which(CHROMIUM)):
        return f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed"
    return None


@pytest.fixture
def page(monkeypatch):
    reason = _browser_missing_reason()
    if reason:
        if os.environ.get("OMS_REQUIRE_BROWSER") == "1":
            pytest.fail(f"OMS_REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(reason)
    # Playwright's sync API runs an event loop in this thread; the ORM calls the test makes
    # around it are still synchronous and safe.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        try:
            page = browser.new_page()
            page.set_default_timeout(15_000)
            yield page
        finally:
            browser.close()


@pytest.fixture
def orders(db):
    OrderFactory(number="W1001", status=OrderStatus.PROCESSING)
    OrderFactory(number="W1002", status=OrderStatus.ON_HOLD)


def test_operator_logs_in_filters_orders_and_opens_one(live_server, admin_user, orders, page):
    # The rows are written before Playwright starts: its event loop gives ORM calls made
    # inside it a connection of their own that would outlive the test database.
    page.goto(f"{live_server.url}/admin/login/?next=/admin/")
    page.fill("#id_username", admin_user.username)
    page.fill("#id_password", "password")
    page.click("input[type=submit]")
    page.wait_for_selector("#site-name")
    assert "OMS operations" in page.inner_text("#site-name")
    header_colour = page.eval_on_selector("#header", "el => getComputedStyle(el).backgroundColor")
    assert header_colour == "rgb(22, 58, 92)", "the admin stylesheet or brand colours did not load"

    page.goto(f"{live_server.url}/admin/orders/order/")
    result_numbers = page.locator("#result_list tbody th a")
    assert sorted(result_numbers.all_inner_texts()) == ["W1001", "W1002"]

    page.locator("#changelist-filter").get_by_role("link", name="On hold", exact=True).click()
    page.wait_for_url("**/admin/orders/order/?status__exact=on_hold")
    assert page.locator("#result_list tbody th a").all_inner_texts() == ["W1002"]

    page.get_by_role("link", name="W1002", exact=True).click()
    page.wait_for_url(re.compile(r"/admin/orders/order/\d+/change/"))
    assert "W1002" in page.inner_text("#content h2")
    assert page.locator(".fieldBox.field-number .readonly").inner_text() == "W1002"
    assert page.locator(".field-status_label .oms-status").inner_text() == "On hold"


@pytest.fixture
def phone_shop(db):
    from inventory.services import stock_receive
    from tests.factories import (
        ProductFactory,
        SalesChannelFactory,
        ServiceLevelFactory,
        WarehouseFactory,
    )

    channel = SalesChannelFactory(code="phone", name="Phone sales")
    warehouse = WarehouseFactory(code="MAIN", priority=1)
    channel.warehouses.add(warehouse)
    ServiceLevelFactory(code="ground", name="Ground")
    mug = ProductFactory(sku="MUG-RED", name="Red mug")
    stock_receive(product=mug, warehouse=warehouse, quantity=10, reference="t", actor="t")


def log_in(page, live_server, user):
    page.goto(f"{live_server.url}/admin/login/?next=/admin/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", "password")
    page.click("input[type=submit]")
    page.wait_for_selector("#site-name")


def test_operator_enters_a_paid_phone_order(live_server, admin_user, phone_shop, page):
    log_in(page, live_server, admin_user)
    page.goto(f"{live_server.url}/admin/orders/order/")
    page.get_by_role("link", name=re.compile("Add order")).click()
    page.wait_for_url("**/admin/orders/order/add/")
    page.select_option("#id_channel", label="Phone sales")
    page.fill("#id_customer_email", "ann@example.com")
    page.fill("#id_customer_first_name", "Ann")
    page.select_option("#id_shipping_method", value="ground")
    page.fill("#id_ship_line1", "1 Main St")
    page.fill("#id_ship_city", "Reno")
    page.fill("#id_ship_postal_code", "89501")
    page.fill("#id_ship_country", "US")
    page.fill("#id_lines", "MUG-RED, 3, 12.50")
    page.fill("#id_shipping_total", "5.00")
    page.select_option("#id_payment_status", value="captured")
    page.fill("#id_payment_method", "card")
    page.click("input[type=submit][value='Enter order']")
    page.wait_for_url(re.compile(r"/admin/orders/order/\d+/change/"))
    assert "entered; it is processing" in page.inner_text(".messagelist")
    assert page.locator(".field-status_label .oms-status").inner_text() == "Processing"
    assert page.locator(".fieldBox.field-total .readonly").inner_text() == "42.50"
    line = page.locator("#lines-group tbody tr", has_text="MUG-RED")
    assert line.locator("td.field-quantity_allocated").inner_text() == "3"

    # A wrong SKU comes back on the form with the line it concerns; nothing is entered.
    page.goto(f"{live_server.url}/admin/orders/order/add/")
    page.select_option("#id_channel", label="Phone sales")
    page.fill("#id_customer_email", "bob@example.com")
    page.fill("#id_ship_line1", "2 Main St")
    page.fill("#id_ship_city", "Reno")
    page.fill("#id_ship_country", "US")
    page.fill("#id_lines", "MUG-RED, 1, 12.50\nNO-SUCH, 1, 1.00")
    page.click("input[type=submit][value='Enter order']")
    page.wait_for_selector(".field-lines .errorlist")
    assert "Line 2" in page.inner_text(".field-lines .errorlist")
    assert "NO-SUCH" in page.inner_text(".field-lines .errorlist")


def test_a_missing_browser_is_named_in_the_skip_reason(monkeypatch):
    monkeypatch.setattr(f"{__name__}.CHROMIUM", "/nonexistent/chromium")
    assert _browser_missing_reason() == (
        "Chromium is not installed at /nonexistent/chromium (apt-get install chromium)"
    )

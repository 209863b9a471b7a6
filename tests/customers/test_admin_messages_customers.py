"""Customer pages in the admin: a taken e-mail is a field error in words, not the name of a
database constraint."""

import pytest
from django.urls import reverse

from customers.models import Customer
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db
INLINES = {
    f"{prefix}-{count}": 0
    for prefix in ("addresses", "channels", "orders")
    for count in ("TOTAL_FORMS", "INITIAL_FORMS")
}


@pytest.mark.parametrize("email", ["ada@example.com", "ADA@Example.COM", " Ada@example.com "])
def test_adding_a_customer_with_a_taken_email_says_so_on_the_field(admin_client, email):
    CustomerFactory(email="ada@example.com", first_name="Ada")
    response = admin_client.post(
        reverse("admin:customers_customer_add"), {"email": email, "note": "", **INLINES}
    )
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert form.errors == {
        "email": ["Another customer already has this e-mail address (ada@example.com)."]
    }
    assert "customer_email_ci_unique" not in response.content.decode()
    assert Customer.objects.count() == 1


def test_changing_to_a_taken_email_says_so_and_changes_nothing(admin_client):
    CustomerFactory(email="ada@example.com")
    grace = CustomerFactory(email="grace@example.com", first_name="Grace")
    response = admin_client.post(
        reverse("admin:customers_customer_change", args=[grace.pk]),
        {"email": "Ada@Example.com", "first_name": "Changed", "note": "", **INLINES},
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "email": ["Another customer already has this e-mail address (ada@example.com)."]
    }
    grace.refresh_from_db()
    assert (grace.email, grace.first_name) == ("grace@example.com", "Grace")


def test_a_customer_may_keep_its_own_email_in_another_case(admin_client):
    grace = CustomerFactory(email="grace@example.com")
    response = admin_client.post(
        reverse("admin:customers_customer_change", args=[grace.pk]),
        {"email": "Grace@Example.com", "first_name": "Grace", "note": "", **INLINES},
    )
    assert response.status_code == 302
    grace.refresh_from_db()
    assert (grace.email, grace.first_name) == ("grace@example.com", "Grace")

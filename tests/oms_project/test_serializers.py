"""Shared serializer pieces: fields built once per class, country codes."""

import pytest
from rest_framework import serializers

from oms_project.serializers import CountryCodeField, FieldsBuiltOnce
from orders.models import Payment


class PaymentOut(FieldsBuiltOnce, serializers.ModelSerializer):
    note = serializers.CharField(default="-", read_only=True)

    class Meta:
        model = Payment
        fields = ["method", "amount", "currency", "note"]


class PaymentOutWithStatus(PaymentOut):
    class Meta(PaymentOut.Meta):
        fields = [*PaymentOut.Meta.fields, "status"]


def test_fields_are_built_once_per_class_and_copied_per_instance(monkeypatch):
    built = []
    original = serializers.ModelSerializer.build_field

    def counting(self, *args, **kwargs):
        built.append(type(self).__name__)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(serializers.ModelSerializer, "build_field", counting)
    first = Payment(method="card", amount="10.00", currency="USD", status="captured")
    second = Payment(method="cash", amount="3.50", currency="EUR", status="authorized")
    one, two = PaymentOut(first), PaymentOut(second)
    assert one.data == {"method": "card", "amount": "10.00", "currency": "USD", "note": "-"}
    assert two.data == {"method": "cash", "amount": "3.50", "currency": "EUR", "note": "-"}
    assert built.count("PaymentOut") == 3  # method, amount, currency: once for both instances
    assert one.fields["method"] is not two.fields["method"]
    assert one.fields["method"].parent is one and two.fields["method"].parent is two
    # A subclass with other fields builds its own, and does not change its parent's.
    assert PaymentOutWithStatus(first).data["status"] == "captured"
    assert "status" not in PaymentOut(first).data


@pytest.mark.parametrize(("given", "kept"), [("us", "US"), ("DE", "DE")])
def test_country_codes_are_upper_cased(given, kept):
    assert CountryCodeField().run_validation(given) == kept


@pytest.mark.parametrize("given", ["XX", "USA", ""])
def test_unknown_country_codes_are_refused(given):
    with pytest.raises(serializers.ValidationError):
        CountryCodeField().run_validation(given)

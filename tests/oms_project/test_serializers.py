"""Shared serializer pieces: fields built once per class, copied cheaply per instance,
country codes."""

import pytest
from rest_framework import serializers

from oms_project.serializers import (
    CountryCodeField,
    CurrencyCodeField,
    FieldsBuiltOnce,
    StrictSerializer,
)
from orders.input_serializers import OrderCreateSerializer
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


@pytest.mark.parametrize(("given", "kept"), [("usd", "USD"), ("EUR", "EUR"), ("XOF", "XOF")])
def test_currency_codes_are_upper_cased(given, kept):
    assert CurrencyCodeField().run_validation(given) == kept


@pytest.mark.parametrize("given", ["ZZZ", "XAU", "XXX", "US", "EURO", ""])
def test_unknown_currencies_and_units_that_are_not_money_are_refused(given):
    with pytest.raises(serializers.ValidationError):
        CurrencyCodeField().run_validation(given)


class Item(StrictSerializer):
    sku = serializers.CharField(max_length=5)
    tags = serializers.ListField(child=serializers.CharField(max_length=3), required=False)


class Basket(StrictSerializer):
    name = serializers.CharField(max_length=10)
    items = Item(many=True)


def test_each_instance_binds_its_own_fields_and_the_declared_ones_stay_unbound():
    one, two = Basket(context={"who": 1}), Basket(context={"who": 2})
    for name in ("name", "items"):
        assert one.fields[name] is not two.fields[name]
        assert one.fields[name].parent is one and two.fields[name].parent is two
    first_item, second_item = one.fields["items"].child, two.fields["items"].child
    assert first_item is not second_item
    assert first_item.fields["tags"].child is not second_item.fields["tags"].child
    # A nested field reads the context of its own root, never another instance's.
    assert first_item.fields["sku"].context == {"who": 1}
    assert second_item.fields["sku"].context == {"who": 2}
    for field in [*Basket._declared_fields.values(), *Item._declared_fields.values()]:
        assert field.parent is None and getattr(field, "field_name", None) is None


def test_copied_fields_validate_as_declared():
    good = Basket(data={"name": "b", "items": [{"sku": "A1", "tags": ["x"]}]})
    assert good.is_valid(), good.errors
    bad = Basket(data={"name": "b" * 11, "items": [{"sku": "TOOLONG", "tags": ["long"]}]})
    assert not bad.is_valid()
    assert "no more than 10" in str(bad.errors["name"][0])
    assert "no more than 5" in str(bad.errors["items"][0]["sku"][0])
    assert "no more than 3" in str(bad.errors["items"][0]["tags"][0][0])
    # The failure of one instance leaves nothing behind for the next.
    again = Basket(data={"name": "b", "items": [{"sku": "A1"}]})
    assert again.is_valid(), again.errors


def test_order_input_fields_copy_like_deep_copies():
    """The cheap copy keeps every field's settings (what DRF's deep copy would give)."""
    import copy

    ours = OrderCreateSerializer().fields
    theirs = copy.deepcopy(OrderCreateSerializer._declared_fields)
    assert list(ours) == list(theirs)
    for name, field in theirs.items():
        assert type(ours[name]) is type(field)
        assert repr(ours[name]) == repr(field)


class Tagged(serializers.Serializer):
    name = serializers.CharField()
    tag = serializers.SerializerMethodField()

    def get_tag(self, item) -> str:
        return self.context["tag"]


class Shelf(serializers.Serializer):
    items = Tagged(many=True)
    codes = serializers.ListField(child=serializers.CharField(), source="labels")


def test_nested_copies_render_with_their_own_context_and_sources():
    """A list's child is bound to each copy of the list (method fields keep their `*` source,
    a renamed list its own), so each instance renders with its root's context."""
    shelf = {"items": [{"name": "a"}, {"name": "b"}], "labels": ["x"]}
    first = Shelf(shelf, context={"tag": "one"}).data
    second = Shelf(shelf, context={"tag": "two"}).data
    assert first == {
        "items": [{"name": "a", "tag": "one"}, {"name": "b", "tag": "one"}],
        "codes": ["x"],
    }
    assert [item["tag"] for item in second["items"]] == ["two", "two"]
    assert Tagged._declared_fields["tag"].__dict__.get("parent") is None


def test_field_lists_are_worked_out_once_per_instance():
    class Note(StrictSerializer):
        text = serializers.CharField()
        secret = serializers.CharField(write_only=True)
        stamp = serializers.CharField(read_only=True)

    note = Note()
    assert [field.field_name for field in note._writable_fields] == ["text", "secret"]
    assert [field.field_name for field in note._readable_fields] == ["text", "stamp"]
    assert note._writable_fields is note._writable_fields
    assert Note(data={"text": "a", "secret": "b"}).is_valid()
    assert Note({"text": "a", "secret": "b", "stamp": "c"}).data == {"text": "a", "stamp": "c"}

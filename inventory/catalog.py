"""Writes to the product catalogue: create, change and delete products."""

from django.db import IntegrityError, transaction
from django.db.models import ProtectedError

from inventory.models import Product
from oms_project.errors import Conflict


def product_create(**fields) -> Product:
    """Create a product; raises `Conflict` if its SKU is taken, or its SKU or barcode is
    another product's barcode or SKU (`Product.identifier_clashes`)."""
    product = Product(**fields)
    _check_identifiers(product)
    try:
        with transaction.atomic():
            product.save(force_insert=True)
            return product
    except IntegrityError:
        _check_identifiers(product)  # a product written meanwhile took the barcode
        raise Conflict(
            f"A product with SKU '{fields.get('sku')}' already exists.",
            errors={"sku": ["A product with this SKU already exists."]},
        )


def _check_identifiers(product: Product) -> None:
    clashes = product.identifier_clashes()
    if clashes:
        raise Conflict(
            "Another product is already known by this SKU or barcode.", errors=clashes
        )


def product_update(*, product: Product, **changes) -> Product:
    """Change a product's fields; raises `Conflict` if a new SKU is taken, or if the SKU of a
    product in use would change (`Product.sku_change_refusal`)."""
    try:
        with transaction.atomic():
            for field, value in changes.items():
                setattr(product, field, value)
            refusal = product.sku_change_refusal()
            if refusal:
                raise Conflict(refusal, errors={"sku": [refusal]})
            _check_identifiers(product)
            product.save()
    except IntegrityError:
        _check_identifiers(product)
        raise Conflict(
            "Another product already has this SKU.",
            errors={"sku": ["A product with this SKU already exists."]},
        )
    return product


def product_delete(*, product: Product) -> None:
    """Delete a product that never had stock or orders; otherwise raise `Conflict`."""
    try:
        with transaction.atomic():
            product.delete()
    except ProtectedError:
        raise Conflict("This product has stock or orders; deactivate it instead.")

"""Bench-only WSGI entry: the project's URLs plus the peers of B1 and B7 (never in the app).

- `POST /bench/orders/minimal/`: a minimal Django view running the peers' SQL
  (`bench.orders_setup.order_place_sql`) after one API-key lookup; same settings, middleware
  and gunicorn as the real endpoint.
- `POST /bench/orders/unlocked/`: the negative control, a read-check-save allocation without
  locks or conditions (the ORM reads the stock levels, checks them, creates the order, then
  saves `allocated = what it read + units`). Concurrent buyers lose each other's updates, so
  the oversell check must fail on it.
- `GET /bench/ping/`: readiness.

    gunicorn bench.orders_wsgi:application -w 4
"""

import hashlib
import json
import os
from collections import defaultdict
from decimal import Decimal

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oms_project.settings")
application = get_wsgi_application()

from django.conf import settings  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.http import HttpResponse, JsonResponse  # noqa: E402
from django.urls import include, path  # noqa: E402
from django.utils import timezone  # noqa: E402
from django.views.decorators.csrf import csrf_exempt  # noqa: E402

from bench.orders_setup import (  # noqa: E402
    order_place_sql,
    place_with_retries,
    plan_picks,
    sql_context,
)
from oms_project.runtime import gc_tune  # noqa: E402

_CONTEXT: dict = {}


def _context() -> dict:
    if not _CONTEXT:
        with connection.cursor() as cursor:
            _CONTEXT.update(sql_context(cursor))
    return _CONTEXT


def _authenticated(request) -> bool:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return False
    digest = hashlib.sha256(header[7:].encode()).hexdigest()
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM orders_apikey WHERE hashed_key = %s AND is_active",
                       [digest])
        return cursor.fetchone() is not None


def ping(request):
    return HttpResponse("ok")


@csrf_exempt
def order_minimal(request):
    if request.method != "POST":
        return HttpResponse(status=405)
    if not _authenticated(request):
        return JsonResponse({"code": "not_authenticated"}, status=401)
    order = json.loads(request.body)
    context = _context()

    def run(data: dict) -> str:
        with transaction.atomic(), connection.cursor() as cursor:
            return order_place_sql(cursor, data, context)

    status, outcome = place_with_retries(run, order)
    if status != 201:
        return JsonResponse({"code": outcome}, status=status)
    return JsonResponse({"number": outcome}, status=201)


@csrf_exempt
def order_unlocked(request):
    from customers.models import Customer
    from inventory.models import Product, StockLevel, StockMovement, StockReservation
    from orders.models import Order, OrderLine, Payment

    if not _authenticated(request):
        return JsonResponse({"code": "not_authenticated"}, status=401)
    data = json.loads(request.body)
    context = _context()
    with transaction.atomic():
        products = {product.sku: product for product in
                    Product.objects.filter(sku__in=[line["sku"] for line in data["lines"]])}
        levels = {(level.product_id, level.warehouse_id): level for level in
                  StockLevel.objects.filter(product__in=products.values(),
                                            warehouse_id__in=context["warehouse_ids"])}
        lines = [(index, products[line["sku"]].pk, line["quantity"])
                 for index, line in enumerate(data["lines"])]
        picks = plan_picks(lines, {key: (level.pk, level.available)
                                   for key, level in levels.items()}, context["warehouse_ids"])
        if picks is None:
            return JsonResponse({"code": "insufficient_stock"}, status=409)
        subtotal = sum((Decimal(line["unit_price"]) * line["quantity"] for line in data["lines"]),
                       Decimal("0.00"))
        total = subtotal + Decimal(data["shipping_total"]) + Decimal(data["tax_total"])
        customer, _ = Customer.objects.get_or_create(email=data["customer"]["email"].lower())
        order = Order.objects.create(
            number=f"{context['prefix']}{data['channel_order_id']}"[:32],
            channel_id=context["channel_id"], channel_order_id=data["channel_order_id"],
            customer=customer, email=customer.email, status="processing",
            currency=data["currency"], subtotal=subtotal, shipping_total=data["shipping_total"],
            tax_total=data["tax_total"], total=total, paid_total=total,
            payment_method=data["payment"]["method"], placed_at=timezone.now(),
            shipping_address=data["shipping_address"],
        )
        order_lines = OrderLine.objects.bulk_create([
            OrderLine(order=order, product=products[line["sku"]], sku=line["sku"],
                      name=products[line["sku"]].name, quantity=line["quantity"],
                      quantity_allocated=line["quantity"], unit_price=line["unit_price"],
                      line_total=Decimal(line["unit_price"]) * line["quantity"])
            for line in data["lines"]
        ])
        Payment.objects.create(order=order, method="card", amount=total, currency="USD",
                               status="captured")
        by_pk = {level.pk: level for level in levels.values()}
        per_level: dict[int, int] = defaultdict(int)
        for _index, level_id, quantity in picks:
            per_level[level_id] += quantity
        for level_id, quantity in per_level.items():
            level = by_pk[level_id]
            level.allocated += quantity  # what was read, plus ours: the lost update
            level.save(update_fields=["allocated"])
        references = [(level_id, f"order_line:{order_lines[index].pk}", quantity)
                      for index, level_id, quantity in picks]
        StockReservation.objects.bulk_create(
            [StockReservation(stock_level_id=level_id, reference=reference, quantity=quantity)
             for level_id, reference, quantity in references])
        StockMovement.objects.bulk_create(
            [StockMovement(stock_level_id=level_id, delta_allocated=quantity,
                           reason="allocation", reference=reference, actor="bench")
             for level_id, reference, quantity in references])
    return JsonResponse({"number": order.number}, status=201)


urlpatterns = [
    path("bench/ping/", ping),
    path("bench/orders/minimal/", order_minimal),
    path("bench/orders/unlocked/", order_unlocked),
    path("", include("oms_project.urls")),
]
settings.ROOT_URLCONF = __name__

# As `oms_project.wsgi` does in production: the same for every endpoint served here.
gc_tune()

from django.urls import path
from rest_framework.routers import SimpleRouter

from orders import apis, fulfillment_apis, shipment_apis, subscription_apis
from orders.accounting_apis import AccountingJournalView

router = SimpleRouter(trailing_slash=True)
apis.register(router)
fulfillment_apis.register(router)
subscription_apis.register(router)
router.register("shipments", shipment_apis.ShipmentViewSet, basename="shipment")
# Before the router: its `orders/<number>/` detail route would also match these paths.
urlpatterns = [
    path(
        "orders/shipments/",
        shipment_apis.ChannelShipmentsView.as_view(),
        name="order-shipments-channel-shape",
    ),
    path(
        "orders/<str:number>/shipments/",
        shipment_apis.OrderShipmentsView.as_view(),
        name="order-shipments",
    ),
    path("accounting/journal/", AccountingJournalView.as_view(), name="accounting-journal"),
    *router.urls,
]

from django.urls import path
from rest_framework.routers import SimpleRouter

from returns import apis

router = SimpleRouter(trailing_slash=True)
apis.register(router)

urlpatterns = [
    path("orders/<str:number>/returns/", apis.OrderReturnsView.as_view(), name="order-returns"),
    *router.urls,
]

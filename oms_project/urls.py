"""URL map: the admin at `/admin/`, the API at `/api/v1/`, its docs at `/api/v1/docs/`."""

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import SimpleRouter

from oms_project import webhook_apis

webhook_router = SimpleRouter(trailing_slash=True)
webhook_apis.register(webhook_router)

api_v1 = [
    path("", include("warehouses.urls")),
    path("", include("inventory.urls")),
    path("", include("customers.urls")),
    path("", include("orders.urls")),
    path("", include("returns.urls")),
    path("", include(webhook_router.urls)),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
]

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
]

admin.site.site_header = "OMS operations"
admin.site.site_title = "OMS"
admin.site.index_title = "Orders, stock and fulfillment"

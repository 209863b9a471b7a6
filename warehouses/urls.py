from rest_framework.routers import SimpleRouter

from warehouses import apis

router = SimpleRouter(trailing_slash=True)
apis.register(router)
urlpatterns = router.urls

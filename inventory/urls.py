from rest_framework.routers import SimpleRouter

from inventory import apis, import_apis, purchasing_apis

router = SimpleRouter(trailing_slash=True)
apis.register(router)
purchasing_apis.register(router)
urlpatterns = router.urls
urlpatterns += import_apis.urlpatterns

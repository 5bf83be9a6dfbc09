"""No views: the example is exercised through its test suite."""
urlpatterns = []

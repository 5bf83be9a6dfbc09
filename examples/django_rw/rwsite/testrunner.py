"""A test runner that always keeps the database.

TEST NAME equals NAME (the pooler only knows that database), so without
--keepdb Django's test runner would drop and recreate the real database.
This runner forces keepdb on, making --keepdb a formality.
"""
from django.test.runner import DiscoverRunner


class KeepDatabaseRunner(DiscoverRunner):
    def __init__(self, *args, **kwargs):
        kwargs["keepdb"] = True
        super().__init__(*args, **kwargs)

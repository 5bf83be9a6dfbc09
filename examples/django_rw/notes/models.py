from django.db import models


class Note(models.Model):
    """A row that tests write, update and read back through the pooler."""

    title = models.CharField(max_length=200)
    body = models.TextField(blank=True, default="")
    updated = models.IntegerField(default=0)
    created = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return self.title

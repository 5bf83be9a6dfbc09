"""Read/write splitting through Sluice, seen from an unmodified Django app.

The project has one DATABASES entry pointing at Sluice. These tests use
TransactionTestCase on purpose: TestCase wraps every test in a transaction,
and a transaction always runs on the primary, which would prove nothing.
Here every ORM call runs in autocommit mode, so Sluice is free to send the
reads to the replica; the tests check that the answers stay consistent.

Django closes the connection after every TransactionTestCase test (after
flushing the tables), so each test runs on a new client connection. Sluice
promises read-your-writes per client, so every test that checks row counts
writes before it reads; its own commit then orders it after the previous
test's TRUNCATE.

Set EXPECT_REPLICA_READS=1 when a replica sits behind the pooler to also
assert that autocommit reads really are served by it.
"""
import os

from django.db import connection, transaction
from django.db.models import F, Sum
from django.test import TransactionTestCase

from .models import Note

EXPECT_REPLICA_READS = os.environ.get("EXPECT_REPLICA_READS") == "1"


def in_recovery():
    """Run a pure read in the current mode and report where it ran."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_is_in_recovery()")
        return cursor.fetchone()[0]


class ReadYourWritesTests(TransactionTestCase):
    """Reads that follow a committed write must see that write."""

    def test_create_update_then_read_back(self):
        """Proves read-your-writes: every autocommit read issued right after
        an autocommit INSERT or UPDATE sees it, 50 times in a row, whether the
        read is served by the replica or falls back to the primary."""
        self.assertTrue(connection.get_autocommit())
        for i in range(50):
            note = Note.objects.create(title=f"note {i}", body="x" * i)
            fetched = Note.objects.get(pk=note.pk)
            self.assertEqual(fetched.title, f"note {i}")
            self.assertEqual(fetched.updated, 0)
            self.assertEqual(Note.objects.filter(title=f"note {i}").count(), 1)
            self.assertEqual(Note.objects.count(), i + 1)

            for expected in (1, 2):
                rows = Note.objects.filter(pk=note.pk).update(
                    updated=F("updated") + 1
                )
                self.assertEqual(rows, 1)
                note.refresh_from_db()
                self.assertEqual(note.updated, expected)

            self.assertEqual(
                Note.objects.filter(updated=2).count(), i + 1,
                "an earlier update is missing from a later read",
            )

    def test_write_and_read_inside_atomic(self):
        """Proves a transaction stays on one server: a row inserted inside
        transaction.atomic() is visible to the next statement of the same
        transaction, and after COMMIT to autocommit reads."""
        with transaction.atomic():
            note = Note.objects.create(title="in a transaction")
            self.assertEqual(Note.objects.filter(pk=note.pk).count(), 1)
            Note.objects.filter(pk=note.pk).update(updated=F("updated") + 1)
            self.assertEqual(Note.objects.get(pk=note.pk).updated, 1)
        self.assertEqual(Note.objects.get(pk=note.pk).updated, 1)


class RoutingTests(TransactionTestCase):
    """Where statements run: autocommit reads on the replica, BEGIN on the
    primary."""

    ATTEMPTS = 20

    def test_autocommit_reads_use_the_replica(self):
        """Proves pure autocommit reads are served by the replica (with
        EXPECT_REPLICA_READS=1): SELECT pg_is_in_recovery() must return true
        at least once in 20 tries. The pooler may still answer some of them
        from the primary while the replica catches up."""
        self.assertTrue(connection.get_autocommit())
        answers = [in_recovery() for _ in range(self.ATTEMPTS)]
        on_replica = sum(1 for a in answers if a)
        if EXPECT_REPLICA_READS:
            self.assertGreaterEqual(
                on_replica, 1,
                f"no autocommit read reached the replica in {self.ATTEMPTS} tries",
            )

    def test_transactions_use_the_primary(self):
        """Proves a plain BEGIN goes to the primary: inside
        transaction.atomic() pg_is_in_recovery() is false, even for a
        transaction that only reads."""
        for _ in range(5):
            with transaction.atomic():
                self.assertFalse(in_recovery())
            with transaction.atomic():
                Note.objects.create(title="write")
                self.assertFalse(in_recovery())


class BulkTests(TransactionTestCase):
    """Multi-row writes followed by reads stay consistent."""

    def test_bulk_create_update_delete(self):
        """Proves bulk writes are visible to the reads that follow: after
        bulk_create of 100 rows the count is 100, a bulk UPDATE is reflected
        in an aggregate, and after deleting them all the count is 0."""
        Note.objects.bulk_create(
            Note(title=f"bulk {i}", updated=i % 2) for i in range(100)
        )
        self.assertEqual(Note.objects.count(), 100)
        self.assertEqual(Note.objects.filter(updated=1).count(), 50)

        Note.objects.update(updated=F("updated") + 10)
        self.assertEqual(Note.objects.aggregate(s=Sum("updated"))["s"], 1050)

        deleted, _ = Note.objects.filter(updated=11).delete()
        self.assertEqual(deleted, 50)
        self.assertEqual(Note.objects.count(), 50)

        Note.objects.all().delete()
        self.assertEqual(Note.objects.count(), 0)
        self.assertFalse(Note.objects.exists())

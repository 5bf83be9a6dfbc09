// pgjdbc preparing statements on the server from their first use (prepareThreshold=1) through
// Sluice in transaction mode: 20 threads, each its own connection, over a pool of 2 servers.
//
// Usage: java -cp /usr/share/java/postgresql.jar JdbcPrepared.java URL USER PASSWORD
// Prints "ok <rows>" on success.
import java.sql.*;
import java.util.*;
import java.util.concurrent.*;

public class JdbcPrepared {
    public static void main(String[] args) throws Exception {
        String url = args[0] + (args[0].contains("?") ? "&" : "?") + "prepareThreshold=1";
        Properties props = new Properties();
        props.setProperty("user", args[1]);
        props.setProperty("password", args[2]);
        try (Connection setup = DriverManager.getConnection(url, props); Statement s = setup.createStatement()) {
            s.execute("DROP TABLE IF EXISTS jdbc_prepared");
            s.execute("CREATE TABLE jdbc_prepared (worker int, n int)");
        }
        ExecutorService pool = Executors.newFixedThreadPool(20);
        List<Future<?>> work = new ArrayList<>();
        for (int w = 0; w < 20; w++) {
            final int worker = w;
            work.add(pool.submit(() -> {
                try (Connection c = DriverManager.getConnection(url, props)) {
                    c.setAutoCommit(false);
                    try (PreparedStatement insert = c.prepareStatement("INSERT INTO jdbc_prepared VALUES (?, ?)");
                         PreparedStatement count = c.prepareStatement("SELECT count(*) FROM jdbc_prepared WHERE worker = ?")) {
                        for (int n = 0; n < 25; n++) {
                            insert.setInt(1, worker);
                            insert.setInt(2, n);
                            insert.executeUpdate();
                            count.setInt(1, worker);
                            try (ResultSet r = count.executeQuery()) {
                                r.next();
                                if (r.getInt(1) != n + 1) throw new IllegalStateException("worker " + worker + " saw " + r.getInt(1));
                            }
                            c.commit();
                        }
                    }
                }
                return null;
            }));
        }
        for (Future<?> f : work) f.get(120, TimeUnit.SECONDS);
        pool.shutdown();
        try (Connection check = DriverManager.getConnection(url, props); Statement s = check.createStatement();
             ResultSet r = s.executeQuery("SELECT count(*) FROM jdbc_prepared")) {
            r.next();
            System.out.println("ok " + r.getInt(1));
        }
    }
}

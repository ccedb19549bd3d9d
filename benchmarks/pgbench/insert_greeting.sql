-- pgbench's side of the database path: one single-row insert per transaction
-- into a copy of the service's table (same columns, indexes and sequence),
-- returning the row as the service's create does.
INSERT INTO pgbench_greetings (name, message, created_at)
VALUES ('bench', 'Hello, bench!', now())
RETURNING *;

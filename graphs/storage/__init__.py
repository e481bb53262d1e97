"""Where a session lives: the content-addressed image stores (files, S3) and the checkpointers (SQLite, Postgres)."""

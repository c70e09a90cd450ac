"""Exit 0 when the PostgreSQL server named by the URL argument accepts connections."""

import sys

import environ


def main(url: str) -> int:
    import psycopg

    config = environ.Env.db_url_config(url)
    try:
        psycopg.connect(
            host=config.get("HOST") or "127.0.0.1",
            port=config.get("PORT") or 5432,
            user=config.get("USER") or "postgres",
            password=config.get("PASSWORD") or None,
            dbname="postgres",
            connect_timeout=3,
        ).close()
    except psycopg.Error:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))

"""Exit 0 when the Redis server named by the URL argument answers a PING."""

import sys


def main(url: str) -> int:
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3).ping()
    except redis.RedisError:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))

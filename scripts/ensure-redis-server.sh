#!/usr/bin/env sh
# Makes sure redis-server and redis-cli (the cluster tests use it) are on
# PATH for the tests: installs Debian's packages when either is missing and
# this runs as root with apt-get; otherwise says what to do. The tests
# start their own servers; nothing is left running.
set -eu
if command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1; then
	exit 0
fi
if [ -n "${REDIS_TEST_ADDR:-}" ]; then
	exit 0 # the tests use that server
fi
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
	echo "redis-server is missing: installing it with apt-get" >&2
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server redis-tools >/dev/null
	command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1 && exit 0
fi
cat >&2 <<'MSG'
redis-server or redis-cli is not installed, and they cannot be installed from here.
Install them (Debian/Ubuntu: sudo apt-get install redis-server redis-tools; macOS: brew install redis),
or point the tests at a server with REDIS_TEST_ADDR=host:port.
MSG
exit 1
